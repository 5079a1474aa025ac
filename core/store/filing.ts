// Filing a message into a mailbox: invariants 2 (exactly once per delivery key and mailbox) and 3
// (UIDs ascending, never reused, never visible out of order) of docs/ARCHITECTURE.md, by the
// protocol of docs/decisions/0003-uid-protocol.md.
import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KeyedSerialiser } from './keyed-serialiser.ts';
import { isConditionFailure } from './dynamo.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';
import type { DynamoUsageCounters } from './usage.ts';
import type { DynamoMailboxes } from './mailboxes.ts';
import type { MailboxCounters } from './mailbox-counters.ts';
import type { DynamoMessages } from './messages.ts';
import { DELIVERY_RECORD_SECONDS, encodeIndex, getItem, nowSeconds, type Item, type Tables } from './records.ts';
import { StoreError, type FileRequest, type FileResult, type Mailbox } from './types.ts';

/** A writer that keeps losing the UID race this often is facing something other than contention. */
const MAX_FILE_ATTEMPTS = 1000;

/** Test hooks that stop a writer at the points the concurrency tests need. */
export interface FilingHooks {
  /** After the message item is written at `uid`, before the delivery is recorded and uidNext advances. */
  readonly afterMessagePut?: (uid: number) => Promise<void> | void;
}

export class DynamoFiling {
  /**
   * Filing into one mailbox is serialised within this process: concurrent writers of one
   * process would otherwise all reserve the same UID and all but one retry, which multiplied
   * the DynamoDB requests per message (bench/ingest.ts: from ~9 to ~30 with 4 records at once).
   */
  private readonly filingQueue = new KeyedSerialiser();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    private readonly mailboxes: DynamoMailboxes,
    private readonly counters: MailboxCounters,
    private readonly messages: DynamoMessages,
    private readonly blobRefs: DynamoBlobReferences,
    private readonly usage: DynamoUsageCounters,
    private readonly hooks: FilingHooks = {},
  ) {}


  /** Sets the delivery record's uid unless another writer set a different one first; returns the recorded uid. */
  private async recordDelivery(deliveryPk: string, uid: number): Promise<number> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.deliveries,
          Key: { pk: deliveryPk },
          UpdateExpression: 'SET uid = :uid, expiresAt = :exp',
          ConditionExpression: 'attribute_not_exists(uid) OR uid = :uid',
          ExpressionAttributeValues: { ':uid': uid, ':exp': nowSeconds() + DELIVERY_RECORD_SECONDS },
        }),
      );
      return uid;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const record = await getItem(this.doc, this.tables.deliveries, { pk: deliveryPk });
      return record!.uid as number;
    }
  }

  /**
   * Step 1: has this delivery been filed already? The record's uid answers directly; otherwise a
   * writer may have died after writing its message but before recording it, so each candidate UID
   * it announced is checked for a message carrying this delivery key.
   */
  private async findFiledDelivery(deliveryPk: string, mailboxId: string, deliveryKey: string): Promise<number | null> {
    const record = await getItem(this.doc, this.tables.deliveries, { pk: deliveryPk });
    if (!record) return null;
    if (typeof record.uid === 'number') return record.uid;
    const candidates = [...((record.candidates as Set<number> | undefined) ?? [])].sort((a, b) => a - b);
    for (const uid of candidates) {
      const message = await getItem(this.doc, this.tables.messages, { mailboxId, uid });
      if (message && message.deliveryKey === deliveryKey && !message.lostRace) return this.recordDelivery(deliveryPk, uid);
    }
    return null;
  }

  async fileMessage(request: FileRequest): Promise<FileResult> {
    const mailbox = await this.mailboxes.requireMailbox(request.account, request.mailbox);
    return this.filingQueue.run(mailbox.id, () => this.fileInto(mailbox, request));
  }

  private async fileInto(mailbox: Mailbox, request: FileRequest): Promise<FileResult> {
    const owner = mailbox.account;
    const deliveryPk = `${request.deliveryKey}#${mailbox.id}`;
    const filed = await this.findFiledDelivery(deliveryPk, mailbox.id, request.deliveryKey);
    if (filed !== null) {
      // The earlier writer may have died before advancing uidNext past its message, which would
      // stay hidden until some other message came to this mailbox: finish its step (a no-op when
      // the counter has moved on).
      await this.counters.advanceUidNext(owner, mailbox.id, filed);
      return { mailboxId: mailbox.id, uid: filed, duplicate: true };
    }

    const writer = randomUUID();
    const body: Item = {
      mailboxId: mailbox.id,
      deliveryKey: request.deliveryKey,
      writer,
      blobKey: request.blobKey,
      size: request.size,
      internalDate: request.internalDate,
      flags: [...new Set(request.flags)],
      expunged: false,
      ...encodeIndex(request.index),
    };
    // Counted before the message exists: a writer dying here leaves one reference too many
    // (the blob is kept), never one too few (a blob expired under a live message).
    await this.blobRefs.retainBlob(request.blobKey);
    // Whether a message of this call may exist: the reference is given back only when surely not.
    let ownMessage: 'none' | 'maybe' | 'live' = 'none';
    // The account's usage follows the same rule: counted before the put, given back with the
    // reference, so only the writer whose message lives keeps it, and a crash counts high
    // (the quota bites a message early) rather than low (a redelivery of a message whose
    // writer died after its put is a duplicate and would never count it).
    let usageCounted = false;
    try {
      await this.usage.addUsage(owner, request.size);
      usageCounted = true;
      for (let attempt = 0; attempt < MAX_FILE_ATTEMPTS; attempt++) {
        const { uid, modSeq } = await this.counters.reserveAttempt(owner, mailbox.id);
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tables.deliveries,
            Key: { pk: deliveryPk },
            UpdateExpression: 'ADD candidates :uid SET expiresAt = :exp',
            ExpressionAttributeValues: { ':uid': new Set([uid]), ':exp': nowSeconds() + DELIVERY_RECORD_SECONDS },
          }),
        );
        let written = false;
        ownMessage = 'maybe';
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tables.messages,
              Item: { ...body, uid, modSeq, createdAt: new Date().toISOString() },
              ConditionExpression: 'attribute_not_exists(uid)',
            }),
          );
          written = true;
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
          // Taken. It may be our own put whose response was lost and retried by the SDK, or a
          // concurrent writer of the same delivery: either way this delivery is at `uid`.
          const holder = await getItem(this.doc, this.tables.messages, { mailboxId: mailbox.id, uid });
          written = holder?.writer === writer;
          if (!written) ownMessage = 'none';
          if (!written && holder?.deliveryKey === request.deliveryKey && !holder.lostRace) {
            const recorded = await this.recordDelivery(deliveryPk, uid);
            await this.counters.advanceUidNext(owner, mailbox.id, uid);
            return { mailboxId: mailbox.id, uid: recorded, duplicate: true };
          }
        }
        if (!written) {
          // Whoever holds `uid` (a stalled writer, a tombstone) is helped past it.
          await this.counters.advanceUidNext(owner, mailbox.id, uid);
          continue;
        }
        ownMessage = 'live';
        await this.hooks.afterMessagePut?.(uid);
        const recorded = await this.recordDelivery(deliveryPk, uid);
        if (recorded !== uid) {
          // A concurrent writer of the same delivery recorded first: ours becomes a tombstone.
          // A fresh modseq, not the put's: a session that already saw the put at `modSeq` asks the
          // byModSeq index only for changes above it, and must still learn of this tombstone.
          await this.messages.tombstone(mailbox.id, uid, await this.counters.allocateModSeq(owner, mailbox.id), { lostRace: true });
          ownMessage = 'none';
          await this.counters.advanceUidNext(owner, mailbox.id, uid);
          return { mailboxId: mailbox.id, uid: recorded, duplicate: true };
        }
        await this.counters.advanceUidNext(owner, mailbox.id, uid);
        return { mailboxId: mailbox.id, uid, duplicate: false };
      }
      throw new StoreError('conflict', 'Could not allocate a UID; too much contention');
    } finally {
      if (ownMessage === 'none') {
        await this.blobRefs.releaseBlob(request.blobKey).catch(() => undefined);
        if (usageCounted) await this.usage.addUsage(owner, -request.size).catch(() => undefined);
      }
    }
  }
}
