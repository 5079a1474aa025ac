// The junk filter's state in DynamoDB (docs/decisions/0015-junk-filter.md). In the directory table,
// partition `junk#<account>` (no `domain` attribute, so nothing lands in byDomain):
//   sk `head`                  which model is current: { version, body } (read on every filing)
//   sk `model#<version>#<id>`  one encoded model (core/junk/classifier.ts), never changed once written
//   sk `trained#<blobKey>`     what this account taught the filter with that message: { class }
// In the deliveries table, pk `junk#<inboundId>#<account>`: the verdict of the first filing attempt,
// so a retried delivery goes to the same mailbox (the filing's own idempotency is per mailbox).
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeModel, emptyModel, encodeModel, pruneModel, type JunkClass, type JunkModel } from '../junk/classifier.ts';
import { isConditionFailure, queryAll } from './dynamo.ts';

const junkPk = (account: string) => `junk#${account.toLowerCase()}`;
const HEAD = 'head';
/** Optimistic writers that lose the race try again this often before giving up (the caller logs it). */
const MAX_UPDATE_ATTEMPTS = 8;
/** How long a filing verdict is kept: as long as a delivery record (SQS redelivers for days at most). */
const VERDICT_RECORD_SECONDS = 30 * 24 * 3600;

/** A model as read: its body's key (what caches compare) and the counts. */
export interface StoredJunkModel {
  readonly body: string;
  readonly model: JunkModel;
}

/** The verdict a filing attempt recorded. */
export interface RecordedVerdict {
  readonly junk: boolean;
  readonly score: number;
}

/** Decoded models of recently filed-to accounts, bounded by their total token count; least recently used go first. */
export class JunkModelCache {
  private readonly entries = new Map<string, StoredJunkModel>();
  private tokens = 0;

  constructor(private readonly maxTokens = 300_000) {}

  get(account: string, body: string): JunkModel | null {
    const hit = this.entries.get(account);
    if (!hit || hit.body !== body) return null;
    this.entries.delete(account);
    this.entries.set(account, hit);
    return hit.model;
  }

  set(account: string, stored: StoredJunkModel): void {
    this.drop(account);
    if (stored.model.tokens.size > this.maxTokens) return;
    this.entries.set(account, stored);
    this.tokens += stored.model.tokens.size;
    for (const [oldest] of this.entries) {
      if (this.tokens <= this.maxTokens) break;
      this.drop(oldest);
    }
  }

  private drop(account: string): void {
    const old = this.entries.get(account);
    if (!old) return;
    this.tokens -= old.model.tokens.size;
    this.entries.delete(account);
  }
}

export class JunkModelStore {
  /**
   * Loads under way, by account: the copies of one inbound batch are judged at once, and all of
   * them for one account share one read of its head (a strongly consistent read per message was
   * the largest read cost of filing, bench/ingest.ts).
   */
  private readonly loading = new Map<string, Promise<StoredJunkModel | null>>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: { readonly directory: string; readonly deliveries: string },
    private readonly cache: JunkModelCache | null = null,
  ) {}

  private async get(table: string, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    return (await this.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  }

  /**
   * The account's current model: one GetItem of the head, and one of the body unless the cache
   * holds that body already. An account never trained costs the head read only and gets null.
   */
  load(account: string): Promise<StoredJunkModel | null> {
    const key = account.toLowerCase();
    const underway = this.loading.get(key);
    if (underway) return underway;
    const loaded = this.loadNow(account).finally(() => this.loading.delete(key));
    this.loading.set(key, loaded);
    return loaded;
  }

  private async loadNow(account: string): Promise<StoredJunkModel | null> {
    const pk = junkPk(account);
    for (let attempt = 0; attempt < 3; attempt++) {
      const head = await this.get(this.tables.directory, { pk, sk: HEAD });
      if (!head) return null;
      const body = head.body as string;
      const cached = this.cache?.get(account, body);
      if (cached) return { body, model: cached };
      const item = await this.get(this.tables.directory, { pk, sk: body });
      // A writer replaced the head and removed this body between the two reads: read the head again.
      if (!item) continue;
      const stored = { body, model: decodeModel(item.data as Uint8Array) };
      this.cache?.set(account, stored);
      return stored;
    }
    throw new Error(`junk model of ${account} kept changing while read`);
  }

  /**
   * Applies `change` to the account's model and stores the result (pruned to its bound) as a new
   * body, then moves the head to it only if no other writer moved it first (else reads again and
   * retries): concurrent trainings on several tasks all count. Returns the stored model.
   */
  async update(account: string, change: (model: JunkModel) => void): Promise<JunkModel> {
    const pk = junkPk(account);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const head = await this.get(this.tables.directory, { pk, sk: HEAD });
      const version = (head?.version as number | undefined) ?? 0;
      const oldBody = head?.body as string | undefined;
      let model = emptyModel();
      if (oldBody) {
        const item = await this.get(this.tables.directory, { pk, sk: oldBody });
        if (!item) continue;
        model = decodeModel(item.data as Uint8Array);
      }
      change(model);
      pruneModel(model);
      const body = `model#${version + 1}#${randomUUID()}`;
      const data = encodeModel(model);
      await this.doc.send(new PutCommand({
        TableName: this.tables.directory,
        Item: { pk, sk: body, data, ham: model.ham, spam: model.spam, tokens: model.tokens.size, createdAt: new Date().toISOString() },
      }));
      try {
        await this.doc.send(new UpdateCommand({
          TableName: this.tables.directory,
          Key: { pk, sk: HEAD },
          UpdateExpression: 'SET version = :next, body = :body, ham = :ham, spam = :spam, updatedAt = :at',
          ConditionExpression: head ? 'version = :version' : 'attribute_not_exists(pk)',
          ExpressionAttributeValues: {
            ':next': version + 1, ':body': body, ':ham': model.ham, ':spam': model.spam, ':at': new Date().toISOString(),
            ...(head ? { ':version': version } : {}),
          },
        }));
      } catch (err) {
        await this.deleteBody(pk, body);
        if (isConditionFailure(err)) continue;
        throw err;
      }
      if (oldBody) await this.deleteBody(pk, oldBody);
      this.cache?.set(account, { body, model });
      return model;
    }
    throw new Error(`junk model of ${account}: ${MAX_UPDATE_ATTEMPTS} concurrent updates in a row, giving up`);
  }

  /** A body nobody points at; one left behind by a crash costs storage, not correctness. */
  private async deleteBody(pk: string, sk: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tables.directory, Key: { pk, sk } }));
  }

  /** The class this account trained the message of `blobKey` as, if any. */
  async trainedAs(account: string, blobKey: string): Promise<JunkClass | null> {
    const item = await this.get(this.tables.directory, { pk: junkPk(account), sk: `trained#${blobKey}` });
    return (item?.class as JunkClass | undefined) ?? null;
  }

  async setTrainedAs(account: string, blobKey: string, cls: JunkClass | null): Promise<void> {
    const key = { pk: junkPk(account), sk: `trained#${blobKey}` };
    if (cls === null) await this.doc.send(new DeleteCommand({ TableName: this.tables.directory, Key: key }));
    else await this.doc.send(new PutCommand({ TableName: this.tables.directory, Item: { ...key, class: cls, at: new Date().toISOString() } }));
  }

  /**
   * Records the verdict of filing `inboundId` for `account` unless one is recorded already, and
   * returns the one that stands (the first): one PutItem, and a GetItem only on a redelivery.
   */
  async recordVerdict(inboundId: string, account: string, verdict: RecordedVerdict): Promise<RecordedVerdict> {
    const pk = `junk#${inboundId}#${account.toLowerCase()}`;
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tables.deliveries,
        Item: { pk, junk: verdict.junk, score: verdict.score, expiresAt: Math.floor(Date.now() / 1000) + VERDICT_RECORD_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return verdict;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item = await this.get(this.tables.deliveries, { pk });
      return item ? { junk: item.junk as boolean, score: item.score as number } : verdict;
    }
  }
}

/**
 * Removes every junk item of the account (head, bodies, training records), so an account made
 * again under the same address starts untrained: what the old one taught stays with it.
 */
export async function removeJunkItems(doc: DynamoDBDocumentClient, directoryTable: string, account: string): Promise<void> {
  const pk = junkPk(account);
  const items = await queryAll(doc, {
    TableName: directoryTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ProjectionExpression: 'pk, sk',
  });
  for (let i = 0; i < items.length; i += 25) {
    await Promise.all(items.slice(i, i + 25).map((item) => doc.send(new DeleteCommand({ TableName: directoryTable, Key: { pk, sk: item.sk } }))));
  }
}
