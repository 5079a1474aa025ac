// Creates the shared resources of core/resources.ts in the emulators, idempotently.
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
  type AttributeDefinition,
  type Projection,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../core/aws.ts';
import type { ResourceNames } from '../core/config.ts';
import { TABLES, QUEUES, physicalQueueName, physicalTableName, type IndexDefinition, type TableDefinition, type QueueName, type TableName } from '../core/resources.ts';

/** The index's projection in the DynamoDB API's terms (core/resources.ts: absent means ALL). */
function projectionOf(index: IndexDefinition): Projection {
  const projection = index.projection ?? { type: 'ALL' };
  return projection.type === 'INCLUDE'
    ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.attributes] }
    : { ProjectionType: projection.type };
}

async function ensureTable(dynamodb: DynamoDBClient, name: string, def: TableDefinition): Promise<void> {
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    return;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  const attributes = new Map<string, AttributeDefinition>();
  const keys = [def.partitionKey, def.sortKey, ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  for (const key of keys) if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes.values()],
        KeySchema: keySchema(def.partitionKey, def.sortKey),
        ...(def.globalIndexes.length
          ? {
              GlobalSecondaryIndexes: def.globalIndexes.map((i) => ({
                IndexName: i.indexName,
                KeySchema: keySchema(i.partitionKey, i.sortKey),
                Projection: projectionOf(i),
              })),
            }
          : {}),
      }),
    );
  } catch (err) {
    // Another process created it between our describe and create.
    if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
  }
  if (def.ttlAttribute) {
    await dynamodb
      .send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true } }))
      .catch(() => undefined); // dynalite does not implement TTL; expiry is a cloud-side clean-up only.
  }
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = created.QueueUrl!;
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: attrs.Attributes!.QueueArn! };
}

/** Creates bucket, tables and queues (with DLQs and redrive) named by `prefix`; returns their names and URLs. */
export async function ensureResources(clients: AwsClients, prefix: string): Promise<ResourceNames> {
  const bucket = `${prefix}-raw`;
  await ensureBucket(clients.s3, bucket);
  const tables = {} as Record<TableName, string>;
  for (const table of Object.keys(TABLES) as TableName[]) {
    tables[table] = physicalTableName(prefix, table);
    await ensureTable(clients.dynamodb, tables[table], TABLES[table]);
  }
  const queues = {} as Record<QueueName, string>;
  const deadLetterQueues = {} as Record<QueueName, string>;
  for (const queue of Object.keys(QUEUES) as QueueName[]) {
    const def = QUEUES[queue];
    const dlq = await ensureQueue(clients.sqs, physicalQueueName(prefix, queue, true), {
      MessageRetentionPeriod: String(def.dlqRetentionSeconds),
    });
    const main = await ensureQueue(clients.sqs, physicalQueueName(prefix, queue), {
      VisibilityTimeout: String(def.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(def.retentionSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: String(def.maxReceiveCount) }),
    });
    queues[queue] = main.url;
    deadLetterQueues[queue] = dlq.url;
  }
  return { bucket, tables, queues, deadLetterQueues };
}
