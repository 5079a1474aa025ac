// The two counters on a mailbox item: uidNext (invariant 3 of docs/ARCHITECTURE.md) and
// highestModSeq (RFC 7162 §3.1), and the rules for moving them.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo.ts';
import { mailboxSk, type Tables } from './records.ts';
import { StoreError } from './types.ts';

/**
 * A change to an existing message is written within this long of taking its mod-sequence, or it
 * takes a new one; readers wait a multiple of it before trusting that nothing below lands any more.
 */
export const MODSEQ_LAND_MS = 1000;

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

  /**
   * A mod-sequence for a change to an existing message, taken again if the allocation came back
   * late: a change must reach its item within MODSEQ_LAND_MS of being counted in highestModSeq,
   * because sessions stop looking below a modseq once that long has passed (mailbox-view.ts).
   */
  async freshModSeq(owner: string, mailboxId: string): Promise<number> {
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
