// AWS SDK v3 clients built from configuration. The only place endpoints are overridden:
// nothing below the composition root knows whether it talks to AWS or to an emulator.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
  const base = {
    region: config.region,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // The SDK waits forever on a silent socket by default; an SMTP client waiting for its 250 or
    // a Lambda batch would hang with it. Connect fast or fail; 60 s of silence is a dead request
    // (it is retried by the SDK's retry strategy).
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  };
  const s3 = new S3Client({ ...base, endpoint: config.endpoints.s3, forcePathStyle: Boolean(config.endpoints.s3) });
  const sqs = new SQSClient({ ...base, endpoint: config.endpoints.sqs });
  const dynamodb = new DynamoDBClient({ ...base, endpoint: config.endpoints.dynamodb });
  if (counter) {
    countRequests(s3, 'S3', counter);
    countRequests(sqs, 'SQS', counter);
    countRequests(dynamodb, 'DynamoDB', counter);
  }
  const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  return { s3, sqs, dynamodb, doc };
}

/** Closes the clients' connection pools, so a stopping process is not held open by keep-alive sockets. */
export function destroyAwsClients(clients: AwsClients): void {
  for (const client of [clients.s3, clients.sqs, clients.dynamodb]) client.destroy();
}
