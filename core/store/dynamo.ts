// DynamoDB idioms every store class shares: telling a failed condition from a real error, and
// reading every page of a Query or Scan, or every key of a BatchGetItem.
import {
  BatchGetCommand,
  QueryCommand,
  ScanCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;
type StartKey = Record<string, unknown>;

/** A ConditionExpression did not hold: an expected outcome (taken, moved on), not a failure. */
export const isConditionFailure = (err: unknown) => (err as { name?: string }).name === 'ConditionalCheckFailedException';

/** Follows LastEvaluatedKey until the last page, or until at least `enough` items are in. */
async function allPages(
  fetchPage: (start: StartKey | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: StartKey }>,
  enough = Infinity,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: StartKey | undefined;
  do {
    const page = await fetchPage(start);
    items.push(...(page.Items ?? []));
    start = items.length >= enough ? undefined : page.LastEvaluatedKey;
  } while (start);
  return items;
}

const from = (start: StartKey | undefined) => (start ? { ExclusiveStartKey: start } : {});

/** Every item a Query matches (or the first pages holding at least `enough`). */
export function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput, enough?: number): Promise<Item[]> {
  return allPages((start) => doc.send(new QueryCommand({ ...input, ...from(start) })), enough);
}

/** Every item a Scan matches. */
export function scanAll(doc: DynamoDBDocumentClient, input: ScanCommandInput): Promise<Item[]> {
  return allPages((start) => doc.send(new ScanCommand({ ...input, ...from(start) })));
}

/** BatchGetItem's limit of keys per request. */
const BATCH_GET_KEYS = 100;

/**
 * The items of `keys` in one table (missing ones left out, in no particular order): 100 keys per
 * request, unprocessed keys asked again until none remain.
 */
export async function batchGetAll(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Item[],
  options: { readonly consistentRead?: boolean; readonly projection?: string } = {},
): Promise<Item[]> {
  const found: Item[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
    let pending: Item[] = keys.slice(i, i + BATCH_GET_KEYS);
    while (pending.length) {
      const result = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: pending,
              ...(options.consistentRead ? { ConsistentRead: true } : {}),
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
            },
          },
        }),
      );
      found.push(...((result.Responses?.[table] ?? []) as Item[]));
      pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
    }
  }
  return found;
}
