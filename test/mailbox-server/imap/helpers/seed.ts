// Fills a mailbox with thousands of messages in BatchWriteItem calls, bypassing fileMessage (which
// costs several requests per message), for the scale test and bench/mailbox.ts. Items have the shape
// fileMessage writes; the mailbox item's uidNext and highestModSeq are moved past them at the end.
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../../../../core/config.ts';
import type { MessageIndex } from '../../../../core/mime/types.ts';
import type { Mailbox } from '../../../../core/store/types.ts';

export interface SeedMessage {
  readonly blobKey: string;
  readonly size: number;
  readonly index: MessageIndex;
  readonly flags: string[];
  readonly internalDate: string;
}

/** Writes `count` messages (UIDs from the mailbox's uidNext on), `parallel` batches at a time. */
export async function seedMailbox(
  doc: DynamoDBDocumentClient,
  tables: ResourceNames['tables'],
  mailbox: Mailbox,
  count: number,
  message: (i: number) => SeedMessage,
  parallel = 4,
): Promise<void> {
  const firstUid = mailbox.uidNext;
  const firstModSeq = mailbox.highestModSeq + 1;
  const items = Array.from({ length: count }, (_, i) => {
    const m = message(i);
    return {
      mailboxId: mailbox.id,
      uid: firstUid + i,
      modSeq: firstModSeq + i,
      deliveryKey: `seed-${mailbox.id}-${firstUid + i}`,
      writer: 'seed',
      blobKey: m.blobKey,
      size: m.size,
      internalDate: m.internalDate,
      flags: m.flags,
      expunged: false,
      index: m.index,
      createdAt: new Date().toISOString(),
    };
  });
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let requests: unknown[] = batches[next++]!.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length) {
        const result = await doc.send(new BatchWriteCommand({ RequestItems: { [tables.messages]: requests as never } }));
        requests = result.UnprocessedItems?.[tables.messages] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await doc.send(
    new UpdateCommand({
      TableName: tables.mailboxes,
      Key: { pk: mailbox.account, sk: `mbox#${mailbox.id}` },
      UpdateExpression: 'SET uidNext = :next, highestModSeq = :ms',
      ConditionExpression: 'uidNext = :first',
      ExpressionAttributeValues: { ':next': firstUid + count, ':ms': firstModSeq + count - 1, ':first': firstUid },
    }),
  );
}
