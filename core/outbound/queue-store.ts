// The outbound queue's state in DynamoDB (deliveries table, pk `outbound#<id>`): SQS cannot list
// delayed messages, so each pending delivery has a record the relay keeps current and mailctl reads.
// The record is also the producer's enqueue marker and the relay's guard against stale copies.
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { outboundEventSchema, type OutboundEvent } from '../contracts.ts';
import { isConditionFailure, scanAll } from '../store/dynamo.ts';
import { TERMINAL_STATES, type OutboundState } from './states.ts';

const outboundPk = (id: string) => `outbound#${id}`;
const PREFIX = 'outbound#';

export { TERMINAL_STATES, type OutboundState } from './states.ts';

export interface OutboundRecord {
  readonly id: string;
  readonly state: OutboundState;
  /** Generation of the live queue copy; copies with a lower `sequence` are stale. */
  readonly sequence: number;
  /** The producer's SendMessage went through (see OutboundQueueStore.claim). */
  readonly enqueued: boolean;
  /** The event of the live copy: recipients still pending, attempt history. */
  readonly event: OutboundEvent;
  readonly lastError: string | null;
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Days a finished record stays for `mailctl queue show` before DynamoDB's TTL removes it. */
const FINISHED_RETENTION_DAYS = 7;
/** An unfinished record outlives any retry schedule; TTL is only a safety net. */
const PENDING_RETENTION_DAYS = 30;

function toRecord(item: Record<string, unknown>): OutboundRecord {
  return {
    id: (item.pk as string).slice(PREFIX.length),
    state: item.state as OutboundState,
    sequence: Number(item.sequence ?? 0),
    enqueued: Boolean(item.enqueued),
    event: outboundEventSchema.parse(JSON.parse(item.event as string)),
    lastError: (item.lastError as string | null | undefined) ?? null,
    nextAttemptAt: (item.nextAttemptAt as string | null | undefined) ?? null,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

const epochSeconds = (date: Date, plusDays: number) => Math.floor(date.getTime() / 1000) + plusDays * 86400;

export interface OutboundUpdate {
  readonly state: OutboundState;
  /** The event of the next copy (pending recipients, attempts); kept as is when absent. */
  readonly event?: OutboundEvent;
  readonly lastError?: string | null;
  readonly nextAttemptAt?: string | null;
}

export class OutboundQueueStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly deliveriesTable: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Creates the record of a new delivery (state queued, sequence 0) unless it exists. SQS standard
   * queues do not deduplicate, so a producer retried after a crash asks here first: `send` means
   * the SendMessage may not have happened yet (do it, then markEnqueued); `done` means it did.
   */
  /** 'new': this call created the record; 'resend': an earlier try created it but did not finish; 'done': queued before. */
  async claim(event: OutboundEvent): Promise<'new' | 'resend' | 'done'> {
    const now = this.now();
    try {
      await this.doc.send(new PutCommand({
        TableName: this.deliveriesTable,
        Item: {
          pk: outboundPk(event.id), state: 'queued', sequence: event.sequence ?? 0, enqueued: false,
          event: JSON.stringify(event), lastError: null, nextAttemptAt: now.toISOString(),
          createdAt: now.toISOString(), updatedAt: now.toISOString(), expiresAt: epochSeconds(now, PENDING_RETENTION_DAYS),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return 'new';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const existing = await this.get(event.id);
    return existing && !existing.enqueued ? 'resend' : 'done';
  }

  async markEnqueued(id: string): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.deliveriesTable, Key: { pk: outboundPk(id) },
      UpdateExpression: 'SET enqueued = :t', ExpressionAttributeValues: { ':t': true },
    }));
  }

  async get(id: string): Promise<OutboundRecord | null> {
    const got = await this.doc.send(new GetCommand({ TableName: this.deliveriesTable, Key: { pk: outboundPk(id) }, ConsistentRead: true }));
    return got.Item ? toRecord(got.Item) : null;
  }

  /**
   * Moves the delivery from generation `fromSequence` to the next (a retry copy was queued, or it
   * finished), unless the record moved on already or was cancelled: false then, and the caller
   * drops its copy (another one settled this generation).
   */
  async advance(id: string, fromSequence: number, update: OutboundUpdate): Promise<boolean> {
    const now = this.now();
    const terminal = TERMINAL_STATES.includes(update.state);
    const names: Record<string, string> = { '#state': 'state', '#sequence': 'sequence' };
    const values: Record<string, unknown> = {
      ':from': fromSequence, ':next': fromSequence + 1, ':state': update.state, ':now': now.toISOString(),
      ':cancelled': 'cancelled', ':delivered': 'delivered', ':bounced': 'bounced',
      ':expires': epochSeconds(now, terminal ? FINISHED_RETENTION_DAYS : PENDING_RETENTION_DAYS),
    };
    const sets = ['#state = :state', '#sequence = :next', 'updatedAt = :now', 'expiresAt = :expires', 'enqueued = :true'];
    values[':true'] = true;
    if (update.event) { sets.push('event = :event'); values[':event'] = JSON.stringify(update.event); }
    if (update.lastError !== undefined) { sets.push('lastError = :error'); values[':error'] = update.lastError; }
    if (update.nextAttemptAt !== undefined) { sets.push('nextAttemptAt = :next_at'); values[':next_at'] = update.nextAttemptAt; }
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.deliveriesTable, Key: { pk: outboundPk(id) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        // A missing record (an event from before records existed) is created by this update.
        ConditionExpression: 'attribute_not_exists(pk) OR ((attribute_not_exists(#sequence) OR #sequence <= :from) AND NOT #state IN (:cancelled, :delivered, :bounced))',
        ExpressionAttributeNames: names, ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** `mailctl queue delete`: the relay drops the delivery at its next copy. False if it already finished. */
  async cancel(id: string): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.deliveriesTable, Key: { pk: outboundPk(id) },
        UpdateExpression: 'SET #state = :cancelled, updatedAt = :now, lastError = :why, expiresAt = :expires',
        ConditionExpression: 'attribute_exists(pk) AND NOT #state IN (:cancelled, :delivered, :bounced)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':cancelled': 'cancelled', ':delivered': 'delivered', ':bounced': 'bounced', ':now': this.now().toISOString(),
          ':why': 'cancelled by an operator', ':expires': epochSeconds(this.now(), FINISHED_RETENTION_DAYS),
        },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** Records by state (a scan of the deliveries table: an admin operation), oldest first. */
  async list(options: { includeFinished?: boolean } = {}): Promise<OutboundRecord[]> {
    const items = await scanAll(this.doc, {
      TableName: this.deliveriesTable,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': PREFIX },
    });
    const records = items.map(toRecord).filter((record) => options.includeFinished || !TERMINAL_STATES.includes(record.state));
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }
}
