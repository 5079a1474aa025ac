// DynamoDB capacity units as the bill counts them, for the benchmarks' cost lines: every request
// asks for ReturnConsumedCapacity TOTAL and the units the emulator reports are summed. Two things
// dynalite leaves out are added as AWS bills them: a write refused by its condition still costs a
// write unit, and a write to the messages table that sets `modSeq` also writes the byModSeq index
// (one unit: the index holds only the state fields, core/resources.ts). The index is sparse
// (core/store/records.ts): a message filed with only `createdModSeq` writes no entry, and neither
// does a write that leaves `modSeq` alone.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export class CapacityCounter {
  writeUnits = 0;
  readUnits = 0;
}

interface Consumed {
  readonly CapacityUnits?: number;
}

/** Whether a write to the messages table puts or moves an entry of the byModSeq index (keyed on `modSeq`). */
function setsIndexKey(operation: string, input: Record<string, unknown>): boolean {
  if (operation === 'PutItem') return (input.Item as Record<string, unknown> | undefined)?.modSeq !== undefined;
  if (operation !== 'UpdateItem') return false;
  const names = (input.ExpressionAttributeNames as Record<string, string> | undefined) ?? {};
  const set = /\bSET\b(.*?)(\b(REMOVE|ADD|DELETE)\b|$)/s.exec(String(input.UpdateExpression ?? ''))?.[1] ?? '';
  return set.split(',').some((assignment) => {
    const target = assignment.split('=')[0]!.trim();
    return (names[target] ?? target) === 'modSeq';
  });
}

export function countCapacity(client: DynamoDBClient, counter: CapacityCounter, messagesTable: string): void {
  (client.middlewareStack as unknown as { add(middleware: unknown, options: { step: 'initialize'; name: string }): void }).add(
    (next: (args: { input: Record<string, unknown> }) => Promise<{ output: { ConsumedCapacity?: Consumed | Consumed[] } }>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const write = WRITES.has(operation);
        args.input.ReturnConsumedCapacity ??= 'TOTAL';
        try {
          const result = await next(args);
          const consumed = result.output.ConsumedCapacity;
          const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);
          if (write) counter.writeUnits += units;
          else counter.readUnits += units;
          if (args.input.TableName === messagesTable && setsIndexKey(operation, args.input)) counter.writeUnits += 1;
          return result;
        } catch (err) {
          if (write && (err as { name?: string }).name === 'ConditionalCheckFailedException') counter.writeUnits += 1;
          throw err;
        }
      },
    { step: 'initialize', name: 'benchCapacityCounter' },
  );
}
