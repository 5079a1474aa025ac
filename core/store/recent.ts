// RFC 3501 §2.3.2 \Recent across server tasks: which session is the first to be told of a message.
// The mailbox item carries `recentUpTo`: every UID below it has been claimed by one session (or is
// older than the first claim). A session claims [recentUpTo, uidNext) by moving the attribute
// forward with one conditional UpdateItem; DynamoDB applies updates of one item one at a time, so
// two sessions claiming at once get disjoint ranges and every UID lands in exactly one of them.
// docs/decisions/0016-recent-claims.md has the design and what it costs.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo.ts';

/** UIDs a session now holds as \Recent: [from, to), empty when from >= to. */
export interface RecentClaim {
  readonly from: number;
  readonly to: number;
}

/** What a mailbox item without the attribute means: nothing claimed yet, UIDs start at 1. */
export const FIRST_UID = 1;

/**
 * Moves the mailbox's `recentUpTo` to `upTo` if it is below it, and returns the range this call
 * took; an empty range when another session got there first or the mailbox is gone.
 * One UpdateItem, no read: UPDATED_OLD tells what the attribute was.
 */
export async function claimRecent(doc: DynamoDBDocumentClient, table: string, key: { pk: string; sk: string }, upTo: number): Promise<RecentClaim> {
  try {
    const updated = await doc.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET recentUpTo = :upTo',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(recentUpTo) OR recentUpTo < :upTo)',
        ExpressionAttributeValues: { ':upTo': upTo },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const from = (updated.Attributes?.recentUpTo as number | undefined) ?? FIRST_UID;
    return { from, to: upTo };
  } catch (err) {
    if (isConditionFailure(err)) return { from: upTo, to: upTo };
    throw err;
  }
}

/** The first UID not yet claimed, from a mailbox item as read. */
export const recentUpToOf = (item: Record<string, unknown>): number => (item.recentUpTo as number | undefined) ?? FIRST_UID;
