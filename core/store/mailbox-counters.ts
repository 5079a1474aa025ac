// The two counters on a mailbox item: uidNext (invariant 3 of docs/ARCHITECTURE.md) and
// highestModSeq (RFC 7162 §3.1), and the rules for moving them.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo.ts';
import { mailboxSk, type Tables } from './records.ts';
import { freshModSeq } from './resync.ts';
import { StoreError } from './types.ts';

export class MailboxCounters {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Pick<Tables, 'mailboxes'>,
  ) {}

  /**
   * Takes the next `count` UID candidates (uidNext .. uidNext + count - 1, as uidNext reads now)
   * and as many fresh mod-sequences (modSeq - count + 1 .. modSeq) in one strongly consistent
   * update (RFC 7162 §3.1: mod-sequences are unique and ascending per mailbox). uidNext itself
   * does not move: it passes a UID only once an item is there (advanceUidNextTo). Fails with
   * not-found when the mailbox was deleted meanwhile.
   */
  async reserveRange(owner: string, mailboxId: string, count: number): Promise<{ uid: number; modSeq: number }> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailboxId) },
          UpdateExpression: 'ADD highestModSeq :count',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':count': count },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { uid: result.Attributes!.uidNext as number, modSeq: result.Attributes!.highestModSeq as number };
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', 'Mailbox was deleted');
      throw err;
    }
  }

  /** The next UID candidate and one fresh mod-sequence (reserveRange of one). */
  reserveAttempt(owner: string, mailboxId: string): Promise<{ uid: number; modSeq: number }> {
    return this.reserveRange(owner, mailboxId, 1);
  }

  async allocateModSeq(owner: string, mailboxId: string): Promise<number> {
    return (await this.reserveAttempt(owner, mailboxId)).modSeq;
  }

  /** A mod-sequence for a change to an existing message, by the rule of core/store/resync.ts. */
  freshModSeq(owner: string, mailboxId: string): Promise<number> {
    return freshModSeq(() => this.allocateModSeq(owner, mailboxId));
  }

  /**
   * Moves uidNext from `uid` to `uid + 1`, only if it still stands at `uid`. Called only once the
   * message item at `uid` exists, so every UID below uidNext always has an item (a message or a
   * tombstone): that is what lets readers trust `uid < uidNext` as a gap-free prefix. A failed
   * condition means another writer already helped. (advanceUidNextTo of the range [uid, uid + 1).)
   */
  advanceUidNext(owner: string, mailboxId: string, uid: number): Promise<void> {
    return this.advanceUidNextTo(owner, mailboxId, uid, uid + 1);
  }

  /**
   * Moves uidNext to `to` from wherever it stands in [from, to). The caller knows an item exists
   * at every UID in [from, to), and every UID below uidNext has one already, so every UID below
   * `to` has its item afterwards (invariant 3). A failed condition means uidNext is at `to` or
   * beyond: another writer already helped.
   */
  async advanceUidNextTo(owner: string, mailboxId: string, from: number, to: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailboxId) },
          UpdateExpression: 'SET uidNext = :to',
          ConditionExpression: 'uidNext BETWEEN :from AND :last',
          ExpressionAttributeValues: { ':from': from, ':last': to - 1, ':to': to },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
