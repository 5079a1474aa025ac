// All three AWS SDK v3 clients built from configuration (one factory each under aws/), and the
// request counter the benchmarks read.
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClients } from './aws/dynamodb.ts';
import { createS3Client } from './aws/s3.ts';
import { createSqsClient } from './aws/sqs.ts';
import type { AwsConfig } from './config.ts';

export interface AwsClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
}

/** Counts AWS requests by `Service.Operation`; benchmarks read it to show the per-message bill. */
export class RequestCounter {
  readonly counts = new Map<string, number>();
  record(service: string, operation: string): void {
    const key = `${service}.${operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }
}

interface CountableClient {
  middlewareStack: { add(middleware: unknown, options: { step: 'initialize'; name: string }): void };
}
function countRequests(client: CountableClient, service: string, counter: RequestCounter): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      counter.record(service, String(context.commandName ?? 'unknown').replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'mailRequestCounter' },
  );
}

export function createAwsClients(config: AwsConfig, counter?: RequestCounter): AwsClients {
  const s3 = createS3Client(config);
  const sqs = createSqsClient(config);
  const { dynamodb, doc } = createDynamoDbClients(config);
  if (counter) {
    countRequests(s3, 'S3', counter);
    countRequests(sqs, 'SQS', counter);
    countRequests(dynamodb, 'DynamoDB', counter);
  }
  return { s3, sqs, dynamodb, doc };
}

/** Closes the clients' connection pools, so a stopping process is not held open by keep-alive sockets. */
export function destroyAwsClients(clients: AwsClients): void {
  for (const client of [clients.s3, clients.sqs, clients.dynamodb]) client.destroy();
}
