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
   * Takes the next UID candidate and a fresh mod-sequence in one strongly consistent update
   * (RFC 7162 §3.1: mod-sequences are unique and ascending per mailbox). Fails with not-found
   * when the mailbox was deleted meanwhile.
   */
  async reserveAttempt(owner: string, mailboxId: string): Promise<{ uid: number; modSeq: number }> {
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
   * condition means another writer already helped.
   */
  async advanceUidNext(owner: string, mailboxId: string, uid: number): Promise<void> {
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
}
