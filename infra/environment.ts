// The MAIL_* environment of functions and tasks, produced by core's own coreConfigToEnv so the
// names the stack sets and the names the services read cannot drift.
import { Aws } from 'aws-cdk-lib';
import { type CoreConfig, coreConfigToEnv } from '../core/config.ts';
import { QUEUES, TABLES, type QueueName, type TableName } from '../core/resources.ts';
import type { Queues } from './constructs/queues.ts';
import type { Storage } from './constructs/storage.ts';
import type { DeploymentSettings } from './settings.ts';

export function coreEnvironment(settings: DeploymentSettings, storage: Storage, queues: Queues): Record<string, string> {
  const config: CoreConfig = {
    aws: { region: Aws.REGION, endpoints: { s3: undefined, sqs: undefined, dynamodb: undefined } },
    resources: {
      bucket: storage.bucket.bucketName,
      tables: Object.fromEntries(Object.keys(TABLES).map((t) => [t, storage.tables[t as TableName].tableName])) as Record<TableName, string>,
      queues: Object.fromEntries(Object.keys(QUEUES).map((q) => [q, queues.queues[q as QueueName].queue.queueUrl])) as Record<QueueName, string>,
      deadLetterQueues: Object.fromEntries(Object.keys(QUEUES).map((q) => [q, queues.queues[q as QueueName].deadLetterQueue.queueUrl])) as Record<QueueName, string>,
    },
    mail: { hostname: settings.hostname, maxMessageBytes: settings.limits.maxMessageBytes, maxRecipients: settings.limits.maxRecipients },
  };
  return coreConfigToEnv(config);
}
