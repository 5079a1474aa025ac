// Reading and changing filed messages: listing, the state projections a session resynchronises
// with, flags (RFC 3501 §6.4.6, RFC 7162 §3.1) and expunge, which leaves a tombstone (invariant 3).
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, isConditionFailure, queryAll } from './dynamo.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';
import { readSegments, uidSegments } from './uid-segments.ts';
import type { DynamoUsageCounters } from './usage.ts';
import type { DynamoMailboxes } from './mailboxes.ts';
import type { MailboxCounters } from './mailbox-counters.ts';
import {
  accountKey,
  BY_MODSEQ_INDEX,
  getItem,
  INDEX_STATE_NAMES,
  INDEX_STATE_PROJECTION,
  isLive,
  isMissingIndex,
  modSeqOf,
  nowSeconds,
  STATE_NAMES,
  STATE_PROJECTION,
  TOMBSTONE_SECONDS,
  toMessage,
  toState,
  type Item,
  type Tables,
} from './records.ts';
import type { FlagChange, MessageItem, MessageState, SetFlagsResult } from './types.ts';

export class DynamoMessages {
  /** Tables found without the byModSeq index (see listStateChanges); a cache of a fact about the table. */
  private readonly missingIndexCache = new Set<string>();

  // The same collaborators as DynamoFiling (core/store/filing.ts), on purpose (see there).
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    private readonly mailboxes: DynamoMailboxes,
    private readonly counters: MailboxCounters,
    private readonly blobRefs: DynamoBlobReferences,
    private readonly usage: DynamoUsageCounters,
  ) {}

  async tombstone(mailboxId: string, uid: number, modSeq: number, extra: Item = {}): Promise<Item | null> {
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


  /**
   * The mailbox item is read before the messages: every UID below the uidNext read then already
   * has its item, so the answer is a gap-free prefix, and UIDs still being filed stay hidden.
   */
  async listMessages(account: string, mailboxName: string, options: { fromUid?: number; toUid?: number; limit?: number } = {}): Promise<MessageItem[]> {
    const mailbox = await this.mailboxes.requireMailbox(account, mailboxName);
    const from = Math.max(1, options.fromUid ?? 1);
    const last = Math.min(mailbox.uidNext - 1, options.toUid ?? Infinity);
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
          // Items past the limit would be read (and paid for) only to be dropped.
          ...(Number.isFinite(limit) ? { Limit: limit - messages.length } : {}),
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

  /**
   * The range below uidNext is cut into segments read by Queries in parallel
   * (core/store/uid-segments.ts): a large mailbox costs about one round trip of pages, not one per
   * page. Segments are joined in UID order, so the answer is the same gap-free prefix.
   */
  async listMessageStates(mailboxId: string, uidNext: number, options: { fromUid?: number } = {}): Promise<MessageState[]> {
    const from = Math.max(1, options.fromUid ?? 1);
    return readSegments(uidSegments(from, uidNext - 1), (segment) => this.queryStates(mailboxId, segment.from, segment.to));
  }

  /** The states of UIDs from..to (inclusive), tombstones included, in UID order: one Query, every page. */
  private async queryStates(mailboxId: string, from: number, to: number): Promise<MessageState[]> {
    const items = await queryAll(this.doc, {
      TableName: this.tables.messages,
      KeyConditionExpression: 'mailboxId = :m AND #uid BETWEEN :from AND :last',
      ProjectionExpression: STATE_PROJECTION,
      ExpressionAttributeNames: STATE_NAMES,
      ExpressionAttributeValues: { ':m': mailboxId, ':from': from, ':last': to },
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
          ProjectionExpression: INDEX_STATE_PROJECTION,
          ExpressionAttributeNames: INDEX_STATE_NAMES,
          ExpressionAttributeValues: { ':m': mailboxId, ':since': sinceModSeq },
        });
        return items.map(toState);
      } catch (err) {
        if (!isMissingIndex(err)) throw err;
        this.missingIndexCache.add(this.tables.messages);
      }
    }
    // No uidNext is at hand here, so no segments: the whole key range, in one Query; kept are the
    // items the index would hold, those carrying `modSeq` (changed since filed).
    const all = await queryAll(this.doc, {
      TableName: this.tables.messages,
      KeyConditionExpression: 'mailboxId = :m',
      ProjectionExpression: STATE_PROJECTION,
      ExpressionAttributeNames: STATE_NAMES,
      ExpressionAttributeValues: { ':m': mailboxId },
      ConsistentRead: true,
    });
    return all.filter((item) => typeof item.modSeq === 'number' && item.modSeq > sinceModSeq).map(toState).sort((a, b) => a.modSeq - b.modSeq);
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
        const item = await getItem(this.doc, this.tables.messages, { mailboxId, uid });
        if (!item || !isLive(item)) break;
        const old = modSeqOf(item);
        if (options.unchangedSince !== undefined && old > options.unchangedSince) {
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
        const modSeq = await this.counters.freshModSeq(owner, mailboxId);
        // Setting `modSeq` gives the message its byModSeq entry: other sessions learn of the change
        // there (core/store/records.ts). Unchanged since read: the same `modSeq`, or still none.
        const unchanged = item.modSeq === undefined ? 'attribute_not_exists(modSeq)' : 'modSeq = :old';
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tables.messages,
              Key: { mailboxId, uid },
              UpdateExpression: 'SET flags = :flags, modSeq = :ms',
              ConditionExpression: `${unchanged} AND expunged = :f`,
              ExpressionAttributeValues: { ':flags': next, ':ms': modSeq, ':f': false, ...(item.modSeq === undefined ? {} : { ':old': item.modSeq }) },
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
        const modSeq = await this.counters.freshModSeq(owner, mailboxId);
        const old = await this.tombstone(mailboxId, uid, modSeq);
        if (!old) continue;
        expunged.push(uid);
        freedBytes += (old.size as number | undefined) ?? 0;
        await this.blobRefs.releaseBlob(old.blobKey as string);
      }
    } finally {
      // One ADD for the whole command, also when a later message failed: every tombstone counted stands.
      await this.usage.addUsage(owner, -freedBytes);
    }
    return expunged;
  }
}
