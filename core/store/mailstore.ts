// Mailboxes and messages over DynamoDB: where invariants 2 (exactly-once filing per delivery
// key and mailbox) and 3 (IMAP UIDs ascending, never reused, never visible out of order) live.
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../config.ts';
import type { MessageIndex } from '../mime/types.ts';
import { addressKey } from '../addresses.ts';
import { DELIMITER, isInbox, normaliseMailboxName } from './mailbox-names.ts';
import { KeyedSerialiser } from './keyed-serialiser.ts';
import { batchGetAll, isConditionFailure, queryAll } from './dynamo.ts';
import {
  StoreError,
  type FileRequest,
  type FileResult,
  type FlagChange,
  type Mailbox,
  type MessageItem,
  type MessageState,
  type MessageStore,
  type SetFlagsResult,
  type SpecialUse,
} from './types.ts';

type Tables = ResourceNames['tables'];
type Item = Record<string, unknown>;

/** Tombstones outlive any writer that could still hold a stale uidNext (invariant 3). */
const TOMBSTONE_SECONDS = 400 * 24 * 3600;
/** Delivery records outlive SQS retention plus a DLQ redrive (14 days). */
const DELIVERY_RECORD_SECONDS = 30 * 24 * 3600;
/** Above this JSON size the MIME index is stored gzipped, keeping items under DynamoDB's 400 KB. */
const INDEX_INLINE_LIMIT = 300_000;
const INDEX_STORED_LIMIT = 360_000;
/**
 * A change to an existing message is written within this long of taking its mod-sequence, or it
 * takes a new one; readers wait a multiple of it before trusting that nothing below lands any more.
 */
export const MODSEQ_LAND_MS = 1000;
/** A writer that keeps losing the UID race this often is facing something other than contention. */
const MAX_FILE_ATTEMPTS = 1000;

export interface MailStoreOptions {
  /** Called when the last message referencing a blob goes; the caller tags the blob (docs/decisions/0004-blob-lifecycle.md). */
  readonly onOrphan?: (blobKey: string) => Promise<void> | void;
  /** Test hooks that stop a writer at the points the concurrency tests need. */
  readonly hooks?: {
    /** After the message item is written at `uid`, before the delivery is recorded and uidNext advances. */
    readonly afterMessagePut?: (uid: number) => Promise<void> | void;
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const mailboxSk = (id: string) => `mbox#${id}`;
const nameSk = (name: string) => `name#${name}`;
const UID_VALIDITY_SK = 'uidvalidity';
/** The account's storage counter (bytes of live messages) in the mailboxes table, beside its mailboxes. */
const USAGE_SK = 'usage';

function accountKey(account: string): string {
  const key = addressKey(account);
  if (!key) throw new StoreError('invalid', 'Invalid account address');
  return key;
}

function toMailbox(item: Item): Mailbox {
  return {
    account: item.pk as string,
    id: item.id as string,
    name: item.name as string,
    uidValidity: item.uidValidity as number,
    uidNext: item.uidNext as number,
    highestModSeq: item.highestModSeq as number,
    subscribed: Boolean(item.subscribed),
    specialUse: (item.specialUse as SpecialUse | undefined) ?? null,
  };
}

function encodeIndex(index: MessageIndex): Item {
  const json = JSON.stringify(index);
  if (json.length <= INDEX_INLINE_LIMIT) return { index };
  const packed = gzipSync(json);
  if (packed.length > INDEX_STORED_LIMIT) throw new StoreError('invalid', 'Message structure too large to store');
  return { indexZ: new Uint8Array(packed) };
}

function decodeIndex(item: Item): MessageIndex {
  if (item.indexZ) return JSON.parse(gunzipSync(item.indexZ as Uint8Array).toString('utf8')) as MessageIndex;
  return item.index as MessageIndex;
}

function toMessage(item: Item): MessageItem {
  return {
    mailboxId: item.mailboxId as string,
    uid: item.uid as number,
    blobKey: item.blobKey as string,
    size: item.size as number,
    internalDate: item.internalDate as string,
    flags: (item.flags as string[] | undefined) ?? [],
    modSeq: item.modSeq as number,
    index: decodeIndex(item),
    expunged: Boolean(item.expunged),
    savedAt: (item.createdAt as string | undefined) ?? null,
  };
}

const isLive = (item: Item) => !item.expunged;

/** The index of core/resources.ts that answers "what changed since modseq M". */
const BY_MODSEQ_INDEX = 'byModSeq';
const STATE_PROJECTION = '#uid, #flags, #modSeq, #size, #internalDate, #expunged';
const STATE_NAMES = { '#uid': 'uid', '#flags': 'flags', '#modSeq': 'modSeq', '#size': 'size', '#internalDate': 'internalDate', '#expunged': 'expunged' };

function toState(item: Item): MessageState {
  return {
    uid: item.uid as number,
    flags: (item.flags as string[] | undefined) ?? [],
    modSeq: (item.modSeq as number | undefined) ?? 0,
    size: (item.size as number | undefined) ?? 0,
    internalDate: (item.internalDate as string | undefined) ?? new Date(0).toISOString(),
    expunged: Boolean(item.expunged),
  };
}

const isMissingIndex = (err: unknown) =>
  (err as { name?: string }).name === 'ValidationException' && /index/i.test((err as Error).message ?? '');

export class DynamoMailStore implements MessageStore {
  /** Tables found without the byModSeq index (see listStateChanges); a cache of a fact about the table. */
  private readonly missingIndexCache = new Set<string>();

  /**
   * Filing into one mailbox is serialised within this process: concurrent writers of one
   * process would otherwise all reserve the same UID and all but one retry, which multiplied
   * the DynamoDB requests per message (bench/ingest.ts: from ~9 to ~30 with 4 records at once).
   */
  private readonly filingQueue = new KeyedSerialiser();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    private readonly options: MailStoreOptions = {},
  ) {}

  // ---- mailboxes -------------------------------------------------------------------------

  /**
   * RFC 3501 §2.3.1.1: UIDVALIDITY must change whenever a name is reused for a new mailbox.
   * Seconds since the epoch, but strictly above the last value handed out for the account, so
   * delete + create within one second still gets a new value.
   */
  private async allocateUidValidity(account: string): Promise<number> {
    for (;;) {
      const got = await this.doc.send(new GetCommand({ TableName: this.tables.mailboxes, Key: { pk: account, sk: UID_VALIDITY_SK }, ConsistentRead: true }));
      const last = (got.Item?.last as number | undefined) ?? 0;
      const next = Math.max(nowSeconds(), last + 1);
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tables.mailboxes,
            Key: { pk: account, sk: UID_VALIDITY_SK },
            UpdateExpression: 'SET #last = :next',
            ConditionExpression: got.Item ? '#last = :last' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: { ':next': next, ...(got.Item ? { ':last': last } : {}) },
          }),
        );
        return next;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  /**
   * The mailbox item is written first and the name claim second: the claim is the commit point,
   * so a crash in between leaves only an unreachable mailbox item, never a name without a mailbox.
   */
  async createMailbox(account: string, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const owner = accountKey(account);
    const mailboxName = normaliseMailboxName(name);
    const item: Item = {
      pk: owner,
      sk: mailboxSk(randomUUID()),
      name: mailboxName,
      uidValidity: await this.allocateUidValidity(owner),
      uidNext: 1,
      highestModSeq: 1,
      subscribed: true,
      createdAt: new Date().toISOString(),
      ...(specialUse ? { specialUse } : {}),
    };
    item.id = (item.sk as string).slice('mbox#'.length);
    await this.doc.send(new PutCommand({ TableName: this.tables.mailboxes, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    if (!(await this.claimName(owner, mailboxName, item.id as string))) {
      await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: owner, sk: item.sk } }));
      throw new StoreError('exists', `Mailbox ${mailboxName} already exists`);
    }
    return toMailbox(item);
  }

  /** Claims a name for a mailbox id; takes over a stale claim left by a crashed rename or delete. */
  private async claimName(owner: string, name: string, mailboxId: string): Promise<boolean> {
    const put = (condition: string, values?: Item) =>
      this.doc.send(
        new PutCommand({
          TableName: this.tables.mailboxes,
          Item: { pk: owner, sk: nameSk(name), mailboxId },
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    try {
      await put('attribute_not_exists(pk)');
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const claim = await this.getItem(this.tables.mailboxes, { pk: owner, sk: nameSk(name) });
    if (!claim) return this.claimName(owner, name, mailboxId);
    const holder = await this.getItem(this.tables.mailboxes, { pk: owner, sk: mailboxSk(claim.mailboxId as string) });
    if (holder && holder.name === name) return false;
    try {
      await put('mailboxId = :stale', { ':stale': claim.mailboxId });
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }

  private async getItem(table: string, key: Item): Promise<Item | null> {
    const got = await this.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return got.Item ?? null;
  }

  async getMailbox(account: string, name: string): Promise<Mailbox | null> {
    const owner = accountKey(account);
    const mailboxName = normaliseMailboxName(name);
    const claim = await this.getItem(this.tables.mailboxes, { pk: owner, sk: nameSk(mailboxName) });
    if (!claim) return null;
    const item = await this.getItem(this.tables.mailboxes, { pk: owner, sk: mailboxSk(claim.mailboxId as string) });
    return item && item.name === mailboxName ? toMailbox(item) : null;
  }

  async getMailboxById(account: string, mailboxId: string): Promise<Mailbox | null> {
    const item = await this.getItem(this.tables.mailboxes, { pk: accountKey(account), sk: mailboxSk(mailboxId) });
    return item ? toMailbox(item) : null;
  }

  /** Mailboxes reachable through a name claim that agrees with the mailbox's own name. */
  async listMailboxes(account: string): Promise<Mailbox[]> {
    const owner = accountKey(account);
    const items = await queryAll(this.doc, {
      TableName: this.tables.mailboxes,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': owner },
      ConsistentRead: true,
    });
    const byId = new Map(items.filter((i) => (i.sk as string).startsWith('mbox#')).map((i) => [i.id as string, i]));
    const mailboxes: Mailbox[] = [];
    for (const claim of items) {
      const sk = claim.sk as string;
      if (!sk.startsWith('name#')) continue;
      const item = byId.get(claim.mailboxId as string);
      if (item && item.name === sk.slice('name#'.length)) mailboxes.push(toMailbox(item));
    }
    return mailboxes.sort((a, b) => (isInbox(a.name) ? -1 : isInbox(b.name) ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async requireMailbox(account: string, name: string): Promise<Mailbox> {
    const mailbox = await this.getMailbox(account, name);
    if (!mailbox) throw new StoreError('not-found', `No mailbox ${name}`);
    return mailbox;
  }

  async subscribe(account: string, name: string, subscribed: boolean): Promise<void> {
    const mailbox = await this.requireMailbox(account, name);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: mailbox.account, sk: mailboxSk(mailbox.id) },
          UpdateExpression: 'SET subscribed = :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':s': subscribed },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No mailbox ${name}`);
      throw err;
    }
  }

  async renameMailbox(account: string, from: string, to: string): Promise<Mailbox> {
    const owner = accountKey(account);
    const oldName = normaliseMailboxName(from);
    const newName = normaliseMailboxName(to);
    // RFC 3501 §6.3.5 renaming INBOX moves its messages into a new mailbox; not supported yet.
    if (isInbox(oldName) || isInbox(newName)) throw new StoreError('invalid', 'Renaming INBOX is not supported');
    if (newName === oldName) throw new StoreError('exists', `Mailbox ${newName} already exists`);
    if (newName.startsWith(oldName + DELIMITER)) throw new StoreError('invalid', 'Cannot rename a mailbox into itself');
    const all = await this.listMailboxes(owner);
    const moving = all.filter((m) => m.name === oldName || m.name.startsWith(oldName + DELIMITER));
    if (!moving.some((m) => m.name === oldName)) throw new StoreError('not-found', `No mailbox ${oldName}`);
    const target = (name: string) => newName + name.slice(oldName.length);
    const taken = new Set(all.map((m) => m.name));
    if (moving.some((m) => taken.has(target(m.name)))) throw new StoreError('exists', `Mailbox ${newName} already exists`);
    for (const mailbox of moving) {
      const name = target(mailbox.name);
      if (!(await this.claimName(owner, name, mailbox.id))) throw new StoreError('exists', `Mailbox ${name} already exists`);
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailbox.id) },
          UpdateExpression: 'SET #name = :name',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: { ':name': name },
        }),
      );
      await this.releaseName(owner, mailbox.name, mailbox.id);
    }
    return (await this.getMailboxById(owner, moving.find((m) => m.name === oldName)!.id))!;
  }

  private async releaseName(owner: string, name: string, mailboxId: string): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: nameSk(name) },
          ConditionExpression: 'mailboxId = :id',
          ExpressionAttributeValues: { ':id': mailboxId },
        }),
      )
      .catch((err) => {
        if (!isConditionFailure(err)) throw err;
      });
  }

  async deleteMailbox(account: string, name: string): Promise<void> {
    const mailbox = await this.requireMailbox(account, name);
    if (isInbox(mailbox.name)) throw new StoreError('invalid', 'INBOX cannot be deleted');
    await this.destroyMailbox(mailbox);
  }

  /**
   * Name first (the mailbox vanishes from view), then the mailbox item (new filings now fail),
   * then the messages with their blob references.
   */
  private async destroyMailbox(mailbox: Pick<Mailbox, 'account' | 'id' | 'name'>): Promise<void> {
    await this.releaseName(mailbox.account, mailbox.name, mailbox.id);
    await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: mailbox.account, sk: mailboxSk(mailbox.id) } }));
    const messages = await queryAll(this.doc, {
      TableName: this.tables.messages,
      KeyConditionExpression: 'mailboxId = :m',
      ExpressionAttributeValues: { ':m': mailbox.id },
      ProjectionExpression: 'mailboxId, uid, blobKey, expunged, #size',
      ExpressionAttributeNames: { '#size': 'size' },
      ConsistentRead: true,
    });
    const liveBytes = messages.filter(isLive).reduce((sum, m) => sum + ((m.size as number | undefined) ?? 0), 0);
    for (let i = 0; i < messages.length; i += 25) {
      const chunk = messages.slice(i, i + 25);
      let requests: unknown[] = chunk.map((m) => ({ DeleteRequest: { Key: { mailboxId: m.mailboxId, uid: m.uid } } }));
      while (requests.length) {
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tables.messages]: requests as never } }));
        requests = result.UnprocessedItems?.[this.tables.messages] ?? [];
      }
      // Independent counters (an ADD each, two copies of one blob included): released together.
      await Promise.all(chunk.filter(isLive).map((message) => this.releaseBlob(message.blobKey as string)));
    }
    if (liveBytes > 0) await this.addUsage(mailbox.account, -liveBytes);
  }

  /** Removes every mailbox of an account and its bookkeeping (used when the account is removed). */
  async removeAllMailboxes(account: string): Promise<void> {
    const owner = accountKey(account);
    const items = await queryAll(this.doc, {
      TableName: this.tables.mailboxes,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': owner },
      ConsistentRead: true,
    });
    for (const item of items) {
      if ((item.sk as string).startsWith('mbox#')) await this.destroyMailbox({ account: owner, id: item.id as string, name: item.name as string });
    }
    for (const item of items) {
      if (!(item.sk as string).startsWith('mbox#')) await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: owner, sk: item.sk } }));
    }
  }

  // ---- storage usage (quota) -------------------------------------------------------------

  /** ADD on one counter item: concurrent writers of one account never lose each other's bytes. */
  private async addUsage(owner: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.mailboxes,
        Key: { pk: owner, sk: USAGE_SK },
        UpdateExpression: 'ADD #bytes :delta',
        ExpressionAttributeNames: { '#bytes': 'bytes' },
        ExpressionAttributeValues: { ':delta': bytes },
      }),
    );
  }

  /**
   * Bytes of the account's live messages, counted since the counter exists: mail filed before it
   * is not counted, and expunging such mail can take the counter below zero, read as 0.
   */
  async getUsage(account: string): Promise<number> {
    const item = await this.getItem(this.tables.mailboxes, { pk: accountKey(account), sk: USAGE_SK });
    return Math.max(0, (item?.bytes as number | undefined) ?? 0);
  }

  // ---- blob references -------------------------------------------------------------------

  /**
   * Counts one more holder of a blob: a message item (done by filing and COPY) or a pending
   * outbound delivery (done by enqueueOutbound). Counting errs high, never low: a leak keeps
   * a blob, an undercount could expire one still needed.
   */
  async retainBlob(blobKey: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.blobrefs,
        Key: { pk: blobKey },
        UpdateExpression: 'ADD refs :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /** Drops one holder; the last one calls `onOrphan`, which tags the blob for the lifecycle rule. */
  async releaseBlob(blobKey: string): Promise<void> {
    const result = await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.blobrefs,
        Key: { pk: blobKey },
        UpdateExpression: 'ADD refs :minus',
        ExpressionAttributeValues: { ':minus': -1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if (((result.Attributes?.refs as number | undefined) ?? 0) <= 0) await this.options.onOrphan?.(blobKey);
  }

  /** Reference count of a blob (for tests and the CLI). */
  async blobReferences(blobKey: string): Promise<number> {
    const item = await this.getItem(this.tables.blobrefs, { pk: blobKey });
    return (item?.refs as number | undefined) ?? 0;
  }

  // ---- filing (invariants 2 and 3) -------------------------------------------------------

  /**
   * Takes the next UID candidate and a fresh mod-sequence in one strongly consistent update
   * (RFC 7162 §3.1: mod-sequences are unique and ascending per mailbox). Fails with not-found
   * when the mailbox was deleted meanwhile.
   */
  private async reserveAttempt(owner: string, mailboxId: string): Promise<{ uid: number; modSeq: number }> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailboxId) },
          UpdateExpression: 'ADD highestModSeq :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { uid: result.Attributes!.uidNext as number, modSeq: result.Attributes!.highestModSeq as number };
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', 'Mailbox was deleted');
      throw err;
    }
  }

  private async allocateModSeq(owner: string, mailboxId: string): Promise<number> {
    return (await this.reserveAttempt(owner, mailboxId)).modSeq;
  }

  /**
   * A mod-sequence for a change to an existing message, taken again if the allocation came back
   * late: a change must reach its item within MODSEQ_LAND_MS of being counted in highestModSeq,
   * because sessions stop looking below a modseq once that long has passed (mailbox-view.ts).
   */
  private async freshModSeq(owner: string, mailboxId: string): Promise<number> {
    // Bounded: a store that is slow every time still gets its write (readers' margin is 3x).
    for (let attempt = 1; ; attempt++) {
      const asked = Date.now();
      const modSeq = await this.allocateModSeq(owner, mailboxId);
      // The write follows at once; half the budget is left for it.
      if (Date.now() - asked <= MODSEQ_LAND_MS / 2 || attempt >= 3) return modSeq;
    }
  }

  /**
   * Moves uidNext from `uid` to `uid + 1`, only if it still stands at `uid`. Called only once the
   * message item at `uid` exists, so every UID below uidNext always has an item (a message or a
   * tombstone): that is what lets readers trust `uid < uidNext` as a gap-free prefix. A failed
   * condition means another writer already helped.
   */
  private async advanceUidNext(owner: string, mailboxId: string, uid: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailboxId) },
          UpdateExpression: 'SET uidNext = :next',
          ConditionExpression: 'uidNext = :uid',
          ExpressionAttributeValues: { ':uid': uid, ':next': uid + 1 },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

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
      const record = await this.getItem(this.tables.deliveries, { pk: deliveryPk });
      return record!.uid as number;
    }
  }

  /**
   * Step 1: has this delivery been filed already? The record's uid answers directly; otherwise a
   * writer may have died after writing its message but before recording it, so each candidate UID
   * it announced is checked for a message carrying this delivery key.
   */
  private async findFiledDelivery(deliveryPk: string, mailboxId: string, deliveryKey: string): Promise<number | null> {
    const record = await this.getItem(this.tables.deliveries, { pk: deliveryPk });
    if (!record) return null;
    if (typeof record.uid === 'number') return record.uid;
    const candidates = [...((record.candidates as Set<number> | undefined) ?? [])].sort((a, b) => a - b);
    for (const uid of candidates) {
      const message = await this.getItem(this.tables.messages, { mailboxId, uid });
      if (message && message.deliveryKey === deliveryKey && !message.lostRace) return this.recordDelivery(deliveryPk, uid);
    }
    return null;
  }

  async fileMessage(request: FileRequest): Promise<FileResult> {
    const mailbox = await this.requireMailbox(request.account, request.mailbox);
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
      await this.advanceUidNext(owner, mailbox.id, filed);
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
    await this.retainBlob(request.blobKey);
    // Whether a message of this call may exist: the reference is given back only when surely not.
    let ownMessage: 'none' | 'maybe' | 'live' = 'none';
    // The account's usage follows the same rule: counted before the put, given back with the
    // reference, so only the writer whose message lives keeps it, and a crash counts high
    // (the quota bites a message early) rather than low (a redelivery of a message whose
    // writer died after its put is a duplicate and would never count it).
    let usageCounted = false;
    try {
      await this.addUsage(owner, request.size);
      usageCounted = true;
      for (let attempt = 0; attempt < MAX_FILE_ATTEMPTS; attempt++) {
        const { uid, modSeq } = await this.reserveAttempt(owner, mailbox.id);
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
          const holder = await this.getItem(this.tables.messages, { mailboxId: mailbox.id, uid });
          written = holder?.writer === writer;
          if (!written) ownMessage = 'none';
          if (!written && holder?.deliveryKey === request.deliveryKey && !holder.lostRace) {
            const recorded = await this.recordDelivery(deliveryPk, uid);
            await this.advanceUidNext(owner, mailbox.id, uid);
            return { mailboxId: mailbox.id, uid: recorded, duplicate: true };
          }
        }
        if (!written) {
          // Whoever holds `uid` (a stalled writer, a tombstone) is helped past it.
          await this.advanceUidNext(owner, mailbox.id, uid);
          continue;
        }
        ownMessage = 'live';
        await this.options.hooks?.afterMessagePut?.(uid);
        const recorded = await this.recordDelivery(deliveryPk, uid);
        if (recorded !== uid) {
          // A concurrent writer of the same delivery recorded first: ours becomes a tombstone.
          // A fresh modseq, not the put's: a session that already saw the put at `modSeq` asks the
          // byModSeq index only for changes above it, and must still learn of this tombstone.
          await this.tombstone(mailbox.id, uid, await this.allocateModSeq(owner, mailbox.id), { lostRace: true });
          ownMessage = 'none';
          await this.advanceUidNext(owner, mailbox.id, uid);
          return { mailboxId: mailbox.id, uid: recorded, duplicate: true };
        }
        await this.advanceUidNext(owner, mailbox.id, uid);
        return { mailboxId: mailbox.id, uid, duplicate: false };
      }
      throw new StoreError('conflict', 'Could not allocate a UID; too much contention');
    } finally {
      if (ownMessage === 'none') {
        await this.releaseBlob(request.blobKey).catch(() => undefined);
        if (usageCounted) await this.addUsage(owner, -request.size).catch(() => undefined);
      }
    }
  }

  private async tombstone(mailboxId: string, uid: number, modSeq: number, extra: Item = {}): Promise<Item | null> {
    const sets = ['expunged = :t', 'expiresAt = :exp', 'modSeq = :ms', ...Object.keys(extra).map((k) => `${k} = :${k}`)];
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.messages,
          Key: { mailboxId, uid },
          UpdateExpression: `SET ${sets.join(', ')} REMOVE #index, indexZ`,
          ConditionExpression: 'expunged = :f',
          ExpressionAttributeNames: { '#index': 'index' },
          ExpressionAttributeValues: {
            ':t': true,
            ':f': false,
            ':exp': nowSeconds() + TOMBSTONE_SECONDS,
            ':ms': modSeq,
            ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`:${k}`, v])),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes ?? null;
    } catch (err) {
      if (isConditionFailure(err)) return null;
      throw err;
    }
  }

  // ---- reading and changing messages -----------------------------------------------------

  /**
   * The mailbox item is read before the messages: every UID below the uidNext read then already
   * has its item, so the answer is a gap-free prefix, and UIDs still being filed stay hidden.
   */
  async listMessages(account: string, mailboxName: string, options: { fromUid?: number; limit?: number } = {}): Promise<MessageItem[]> {
    const mailbox = await this.requireMailbox(account, mailboxName);
    const from = Math.max(1, options.fromUid ?? 1);
    const last = mailbox.uidNext - 1;
    const limit = options.limit ?? Infinity;
    const messages: MessageItem[] = [];
    if (last < from || limit <= 0) return messages;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.messages,
          KeyConditionExpression: 'mailboxId = :m AND uid BETWEEN :from AND :last',
          ExpressionAttributeValues: { ':m': mailbox.id, ':from': from, ':last': last },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of (page.Items ?? []) as Item[]) {
        if (isLive(item)) messages.push(toMessage(item));
        if (messages.length >= limit) return messages;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return messages;
  }

  async listMessageStates(mailboxId: string, uidNext: number, options: { fromUid?: number } = {}): Promise<MessageState[]> {
    const from = Math.max(1, options.fromUid ?? 1);
    const last = uidNext - 1;
    if (last < from) return [];
    const items = await queryAll(this.doc, {
      TableName: this.tables.messages,
      KeyConditionExpression: 'mailboxId = :m AND #uid BETWEEN :from AND :last',
      ProjectionExpression: STATE_PROJECTION,
      ExpressionAttributeNames: STATE_NAMES,
      ExpressionAttributeValues: { ':m': mailboxId, ':from': from, ':last': last },
      ConsistentRead: true,
    });
    return items.map(toState);
  }

  /**
   * One Query of the byModSeq index (key condition `modSeq > since`, state fields only). A store
   * whose table predates the index (a local data folder from before it existed: dynalite cannot add
   * an index to a table) answers from the table instead, which is correct but reads every state.
   */
  async listStateChanges(mailboxId: string, sinceModSeq: number): Promise<MessageState[]> {
    if (!this.missingIndexCache.has(this.tables.messages)) {
      try {
        const items = await queryAll(this.doc, {
          TableName: this.tables.messages,
          IndexName: BY_MODSEQ_INDEX,
          KeyConditionExpression: 'mailboxId = :m AND #modSeq > :since',
          ProjectionExpression: STATE_PROJECTION,
          ExpressionAttributeNames: STATE_NAMES,
          ExpressionAttributeValues: { ':m': mailboxId, ':since': sinceModSeq },
        });
        return items.map(toState);
      } catch (err) {
        if (!isMissingIndex(err)) throw err;
        this.missingIndexCache.add(this.tables.messages);
      }
    }
    const all = await this.listMessageStates(mailboxId, Number.MAX_SAFE_INTEGER);
    return all.filter((s) => s.modSeq > sinceModSeq).sort((a, b) => a.modSeq - b.modSeq);
  }

  async getMessages(mailboxId: string, uids: readonly number[]): Promise<MessageItem[]> {
    const keys = [...new Set(uids)].map((uid) => ({ mailboxId, uid }));
    const found = await batchGetAll(this.doc, this.tables.messages, keys, { consistentRead: true });
    return found.filter(isLive).map(toMessage).sort((a, b) => a.uid - b.uid);
  }

  async setFlags(
    account: string,
    mailboxId: string,
    uids: readonly number[],
    change: FlagChange,
    options: { unchangedSince?: number } = {},
  ): Promise<SetFlagsResult> {
    const owner = accountKey(account);
    const updated: Array<{ uid: number; flags: string[]; modSeq: number }> = [];
    const modified: number[] = [];
    for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
      for (;;) {
        const item = await this.getItem(this.tables.messages, { mailboxId, uid });
        if (!item || !isLive(item)) break;
        if (options.unchangedSince !== undefined && (item.modSeq as number) > options.unchangedSince) {
          modified.push(uid);
          break;
        }
        const current = (item.flags as string[] | undefined) ?? [];
        const next =
          change.op === 'replace'
            ? [...new Set(change.flags)]
            : change.op === 'add'
              ? [...new Set([...current, ...change.flags])]
              : current.filter((f) => !change.flags.includes(f));
        // RFC 7162 §3.1: a store that changes nothing need not bump the mod-sequence.
        if (next.length === current.length && next.every((f) => current.includes(f))) break;
        const modSeq = await this.freshModSeq(owner, mailboxId);
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tables.messages,
              Key: { mailboxId, uid },
              UpdateExpression: 'SET flags = :flags, modSeq = :ms',
              ConditionExpression: 'modSeq = :old AND expunged = :f',
              ExpressionAttributeValues: { ':flags': next, ':ms': modSeq, ':old': item.modSeq, ':f': false },
            }),
          );
          updated.push({ uid, flags: next, modSeq });
          break;
        } catch (err) {
          if (!isConditionFailure(err)) throw err; // changed under us: read again
        }
      }
    }
    return { updated, modified };
  }

  async expunge(account: string, mailboxId: string, uids: readonly number[]): Promise<number[]> {
    const owner = accountKey(account);
    const expunged: number[] = [];
    let freedBytes = 0;
    try {
      for (const uid of [...new Set(uids)].sort((a, b) => a - b)) {
        const modSeq = await this.freshModSeq(owner, mailboxId);
        const old = await this.tombstone(mailboxId, uid, modSeq);
        if (!old) continue;
        expunged.push(uid);
        freedBytes += (old.size as number | undefined) ?? 0;
        await this.releaseBlob(old.blobKey as string);
      }
    } finally {
      // One ADD for the whole command, also when a later message failed: every tombstone counted stands.
      await this.addUsage(owner, -freedBytes);
    }
    return expunged;
  }
}
