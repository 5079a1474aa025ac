// Filing a message into a mailbox: invariants 2 (exactly once per delivery key and mailbox) and 3
// (UIDs ascending, never reused, never visible out of order) of docs/ARCHITECTURE.md, by the
// protocol of docs/decisions/0003-uid-protocol.md.
import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KeyedSerialiser } from './keyed-serialiser.ts';
import { batchGetAll, isConditionFailure } from './dynamo.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';
import type { DynamoUsageCounters } from './usage.ts';
import type { DynamoMailboxes, FilingTarget } from './mailboxes.ts';
import type { MailboxCounters } from './mailbox-counters.ts';
import type { DynamoMessages } from './messages.ts';
import { DELIVERY_RECORD_SECONDS, encodeIndex, getItem, nowSeconds, type Item, type Tables } from './records.ts';
import type { MessageIndex } from '../mime/types.ts';
import { StoreError, type FileRequest, type FileResult } from './types.ts';

/** A writer that keeps losing the UID race this often is facing something other than contention. */
const MAX_FILE_ATTEMPTS = 1000;

/** Test hooks that stop a writer at the points the concurrency tests need. */
export interface FilingHooks {
  /** After UIDs are reserved for a round of messages, before anything of theirs is written. */
  readonly afterReserve?: (uids: readonly number[]) => Promise<void> | void;
  /** After the message item is written at `uid`, before the delivery is recorded and uidNext advances. */
  readonly afterMessagePut?: (uid: number) => Promise<void> | void;
}

/** One message of a filing call on its way into the mailbox. */
interface Filing {
  /** Its place in the caller's list. */
  readonly at: number;
  readonly request: FileRequest;
  readonly deliveryPk: string;
  /** The message item without uid and modSeq: the MIME index encoded once, whatever the rounds. */
  readonly body: Item;
  /** Whether a message of this call may exist: the blob reference and usage are given back only when surely not. */
  own: 'none' | 'maybe' | 'live';
}

/** What one conditional put at a reserved UID found. */
type SlotOutcome =
  /** Ours (also when the SDK retried a put whose answer was lost). */
  | 'written'
  /** Another writer of the same delivery got there: the delivery is at this UID. */
  | 'duplicate'
  /** Someone else's message or a tombstone: this message tries again at a later UID. */
  | 'lost'
  /** Taken, by whom is unknown (the read failed): this message fails, the UID is occupied. */
  | 'occupied'
  /** Nothing is known to be at the UID: uidNext may not pass it. */
  | 'unresolved';

/** The delivery record of a request in its mailbox (core/resources.ts: deliveries). */
const deliveryPkOf = (request: FileRequest, mailbox: Pick<FilingTarget, 'id'>) => `${request.deliveryKey}#${mailbox.id}`;

const fulfilled = (value: FileResult): PromiseSettledResult<FileResult> => ({ status: 'fulfilled', value });
const rejected = (reason: unknown): PromiseSettledResult<FileResult> => ({ status: 'rejected', reason });

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
   * it announced is checked for a message carrying this delivery key. `record` is the delivery
   * record as read (strongly consistent) for the whole call.
   */
  private async findFiledDelivery(record: Item | null, deliveryPk: string, mailboxId: string, deliveryKey: string): Promise<number | null> {
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
    const [result] = await this.fileMessages([request]);
    if (result!.status === 'rejected') throw result!.reason;
    return result!.value;
  }

  /**
   * Files several messages, each as fileMessage would (invariants 2 and 3), with round trips shared
   * (docs/decisions/0019-batch-uid-allocation.md): one read of the INBOX claims and one of the
   * delivery records for the whole call; per mailbox one usage update, one reservation of
   * consecutive UIDs, the puts in parallel, one advance of uidNext. Settles per message, in order.
   */
  async fileMessages(requests: readonly FileRequest[]): Promise<Array<PromiseSettledResult<FileResult>>> {
    const results: Array<PromiseSettledResult<FileResult>> = new Array(requests.length);
    const groups = new Map<string, number[]>();
    requests.forEach((request, at) => {
      const key = `${request.account}\u0000${request.specialUse ?? ''}\u0000${request.mailbox}`;
      groups.set(key, [...(groups.get(key) ?? []), at]);
    });
    const entries = [...groups.values()].map((ats) => ({ ats, group: ats.map((at) => requests[at]!) }));
    const targets = await this.mailboxes.mailboxesForFiling(entries.map((e) => e.group[0]!));
    // The delivery records of every mailbox in one read, before the per-mailbox queue: a filing of
    // the same key by this process meanwhile is then caught by the conditional record (a duplicate,
    // its second copy a tombstone), as between processes.
    const keys = new Map<string, Item>();
    entries.forEach(({ group }, g) => {
      const target = targets[g]!;
      if (target.status === 'fulfilled') for (const r of group) keys.set(deliveryPkOf(r, target.value), { pk: deliveryPkOf(r, target.value) });
    });
    // The MIME index is encoded once per message, however many mailboxes it goes to.
    const encodings = new Map<MessageIndex, Item | Error>();
    const encode = (index: MessageIndex): Item => {
      let encoded = encodings.get(index);
      if (!encoded) {
        try {
          encoded = encodeIndex(index);
        } catch (err) {
          encoded = err as Error;
        }
        encodings.set(index, encoded);
      }
      if (encoded instanceof Error) throw encoded;
      return encoded;
    };
    const recordsRead = batchGetAll(this.doc, this.tables.deliveries, [...keys.values()], { consistentRead: true }).then((found) => new Map(found.map((r) => [r.pk as string, r])));
    recordsRead.catch(() => undefined); // awaited per group below, where a failure settles the group
    await Promise.all(
      entries.map(async ({ ats, group }, g) => {
        let settled: Array<PromiseSettledResult<FileResult>>;
        try {
          const target = targets[g]!;
          if (target.status === 'rejected') throw target.reason;
          const records = await recordsRead;
          settled = await this.filingQueue.run(target.value.id, () => this.fileGroup(target.value, group, records, encode));
        } catch (err) {
          settled = group.map(() => rejected(err));
        }
        settled.forEach((result, i) => (results[ats[i]!] = result));
      }),
    );
    return results;
  }

  /** Messages for one mailbox: the filed ones answered as duplicates, the new ones filed together. */
  private async fileGroup(
    mailbox: FilingTarget,
    requests: readonly FileRequest[],
    records: ReadonlyMap<string, Item>,
    encode: (index: MessageIndex) => Item,
  ): Promise<Array<PromiseSettledResult<FileResult>>> {
    const out: Array<PromiseSettledResult<FileResult> | undefined> = new Array(requests.length);
    // One delivery key twice in one call files once; the later ones answer as its duplicates.
    const firstAt = new Map<string, number>();
    requests.forEach((r, at) => firstAt.set(r.deliveryKey, firstAt.get(r.deliveryKey) ?? at));
    const unique = [...firstAt.values()];
    const pkOf = (request: FileRequest) => deliveryPkOf(request, mailbox);
    const fresh: number[] = [];
    await Promise.all(
      unique.map(async (at) => {
        const request = requests[at]!;
        try {
          const filed = await this.findFiledDelivery(records.get(pkOf(request)) ?? null, pkOf(request), mailbox.id, request.deliveryKey);
          if (filed === null) return void fresh.push(at);
          // The earlier writer may have died before advancing uidNext past its message, which would
          // stay hidden until some other message came to this mailbox: finish its step (not needed
          // when the counter read with the mailbox has moved past it already).
          if (filed >= mailbox.uidNext) await this.counters.advanceUidNext(mailbox.account, mailbox.id, filed);
          out[at] = fulfilled({ mailboxId: mailbox.id, uid: filed, duplicate: true });
        } catch (err) {
          out[at] = rejected(err);
        }
      }),
    );
    if (fresh.length > 0) await this.fileNew(mailbox, fresh.sort((a, b) => a - b).map((at) => ({ at, request: requests[at]! })), out, encode);
    return requests.map((request, at) => {
      const first = firstAt.get(request.deliveryKey)!;
      if (first === at) return out[at]!;
      const result = out[first]!;
      return result.status === 'fulfilled' ? fulfilled({ ...result.value, duplicate: true }) : result;
    });
  }

  private async fileNew(
    mailbox: FilingTarget,
    items: ReadonlyArray<{ at: number; request: FileRequest }>,
    out: Array<PromiseSettledResult<FileResult> | undefined>,
    encode: (index: MessageIndex) => Item,
  ): Promise<void> {
    const owner = mailbox.account;
    const writer = randomUUID();
    const filings: Filing[] = [];
    for (const { at, request } of items) {
      try {
        filings.push({
          at,
          request,
          deliveryPk: deliveryPkOf(request, mailbox),
          body: {
            mailboxId: mailbox.id,
            deliveryKey: request.deliveryKey,
            writer,
            blobKey: request.blobKey,
            size: request.size,
            internalDate: request.internalDate,
            flags: [...new Set(request.flags)],
            expunged: false,
            ...encode(request.index),
            ...(request.headerPrefix ? { headerPrefix: request.headerPrefix } : {}),
          },
          own: 'none',
        });
      } catch (err) {
        out[at] = rejected(err);
      }
    }
    // Counted before the messages exist: a writer dying here leaves one reference too many
    // (the blob is kept), never one too few (a blob expired under a live message).
    const retained = await Promise.allSettled(filings.map((f) => this.blobRefs.retainBlob(f.request.blobKey)));
    const counted = filings.filter((f, i) => {
      const result = retained[i]!;
      if (result.status === 'rejected') out[f.at] = rejected(result.reason);
      return result.status === 'fulfilled';
    });
    // The account's usage follows the same rule: counted before the puts, given back with the
    // reference, so only the writer whose message lives keeps it, and a crash counts high
    // (the quota bites a message early) rather than low (a redelivery of a message whose
    // writer died after its put is a duplicate and would never count it).
    let usageCounted = false;
    try {
      await this.usage.addUsage(owner, counted.reduce((sum, f) => sum + f.request.size, 0));
      usageCounted = true;
      let pending = counted;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_FILE_ATTEMPTS) throw new StoreError('conflict', 'Could not allocate a UID; too much contention');
        pending = await this.fileRound(mailbox, writer, pending, out);
      }
    } catch (err) {
      for (const f of counted) out[f.at] ??= rejected(err);
    } finally {
      const givenBack = counted.filter((f) => f.own === 'none');
      await Promise.all(givenBack.map((f) => this.blobRefs.releaseBlob(f.request.blobKey).catch(() => undefined)));
      const bytes = givenBack.reduce((sum, f) => sum + f.request.size, 0);
      if (usageCounted && bytes > 0) await this.usage.addUsage(owner, -bytes).catch(() => undefined);
    }
  }

  /**
   * One round: reserve consecutive UIDs for `pending`, announce each as a candidate of its
   * delivery, put all messages at once (each conditional on its UID being free), record the
   * deliveries, then move uidNext past every UID now known to hold an item. Returns the messages
   * whose UID someone else took, for the next round.
   */
  private async fileRound(mailbox: FilingTarget, writer: string, pending: readonly Filing[], out: Array<PromiseSettledResult<FileResult> | undefined>): Promise<Filing[]> {
    const owner = mailbox.account;
    const { uid: first, modSeq: last } = await this.counters.reserveRange(owner, mailbox.id, pending.length);
    const slot = (j: number) => ({ uid: first + j, modSeq: last - pending.length + 1 + j });
    await this.hooks.afterReserve?.(pending.map((_, j) => slot(j).uid));
    const outcomes = await Promise.all(
      pending.map(async (f, j): Promise<SlotOutcome> => {
        const { uid, modSeq } = slot(j);
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tables.deliveries,
              Key: { pk: f.deliveryPk },
              UpdateExpression: 'ADD candidates :uid SET expiresAt = :exp',
              ExpressionAttributeValues: { ':uid': new Set([uid]), ':exp': nowSeconds() + DELIVERY_RECORD_SECONDS },
            }),
          );
        } catch (err) {
          out[f.at] = rejected(err);
          return 'unresolved';
        }
        f.own = 'maybe';
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tables.messages,
              Item: { ...f.body, uid, modSeq, createdAt: new Date().toISOString() },
              ConditionExpression: 'attribute_not_exists(uid)',
            }),
          );
          return 'written';
        } catch (err) {
          if (!isConditionFailure(err)) {
            out[f.at] = rejected(err);
            return 'unresolved';
          }
        }
        // Taken. It may be our own put whose response was lost and retried by the SDK, or a
        // concurrent writer of the same delivery: either way this delivery is at `uid`.
        let holder: Item | null;
        try {
          holder = await getItem(this.doc, this.tables.messages, { mailboxId: mailbox.id, uid });
        } catch (err) {
          out[f.at] = rejected(err);
          return 'occupied';
        }
        if (holder?.writer === writer) return 'written';
        f.own = 'none';
        return holder?.deliveryKey === f.request.deliveryKey && !holder.lostRace ? 'duplicate' : 'lost';
      }),
    );
    // A message whose recording failed stays hidden, as when its writer dies there: uidNext stops below it.
    const stopped = pending.map(() => false);
    await Promise.all(
      pending.map(async (f, j) => {
        const { uid } = slot(j);
        const outcome = outcomes[j]!;
        if (outcome !== 'written' && outcome !== 'duplicate') return;
        try {
          if (outcome === 'written') {
            f.own = 'live';
            await this.hooks.afterMessagePut?.(uid);
          }
          const recorded = await this.recordDelivery(f.deliveryPk, uid);
          if (outcome === 'written' && recorded !== uid) {
            // A concurrent writer of the same delivery recorded first: ours becomes a tombstone.
            // A fresh modseq, not the put's: a session that already saw the put at its modseq asks
            // the byModSeq index only for changes above it, and must still learn of this tombstone.
            await this.messages.tombstone(mailbox.id, uid, await this.counters.allocateModSeq(owner, mailbox.id), { lostRace: true });
            f.own = 'none';
          }
          out[f.at] = fulfilled({ mailboxId: mailbox.id, uid: recorded, duplicate: outcome === 'duplicate' || recorded !== uid });
        } catch (err) {
          out[f.at] = rejected(err);
          stopped[j] = true;
        }
      }),
    );
    // Every UID of the range up to the first unresolved one now holds an item (ours, someone
    // else's, a tombstone): uidNext may pass them all at once (invariant 3).
    let held = 0;
    while (held < pending.length && outcomes[held] !== 'unresolved' && !stopped[held]) held++;
    if (held > 0) await this.counters.advanceUidNextTo(owner, mailbox.id, first, first + held);
    return pending.filter((_, j) => outcomes[j] === 'lost');
  }
}
