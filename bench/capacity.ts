// DynamoDB capacity units as the bill counts them, for the benchmarks' cost lines: every request
// asks for ReturnConsumedCapacity TOTAL and the units the emulator reports are summed. Two things
// dynalite leaves out are added as AWS bills them: a write refused by its condition still costs a
// write unit, and a new item in the messages table also writes the byModSeq index (one unit: the
// index holds only the state fields, core/resources.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export class CapacityCounter {
  writeUnits = 0;
  readUnits = 0;
}

interface Consumed {
  readonly CapacityUnits?: number;
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
          if (operation === 'PutItem' && args.input.TableName === messagesTable) counter.writeUnits += 1;
          return result;
        } catch (err) {
          if (write && (err as { name?: string }).name === 'ConditionalCheckFailedException') counter.writeUnits += 1;
          throw err;
        }
      },
    { step: 'initialize', name: 'benchCapacityCounter' },
  );
}
