// What the inbound function files with, built the one way the Lambda handler builds it: the store,
// the outbound queue for remote recipients, the junk filter with its per-environment model cache.
// The handler adds Powertools telemetry and the SRS key; the benchmarks pass their own telemetry,
// so what they measure is what runs in AWS.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from '../../core/aws.ts';
import { BlobStore } from '../../core/blobs.ts';
import type { ResourceNames } from '../../core/config.ts';
import { JunkFilter } from '../../core/junk/filter.ts';
import { indexMessage } from '../../core/mime/index.ts';
import { OutboundQueueStore } from '../../core/outbound/queue-store.ts';
import { QueueSender } from '../../core/queues.ts';
import type { SenderRewriting } from '../../core/srs.ts';
import { createStore } from '../../core/store/index.ts';
import { JunkModelCache, JunkModelStore } from '../../core/store/junk-model.ts';
import type { InboundDeps } from './file-inbound.ts';
import type { JunkFiling } from './junk-filing.ts';

export interface InboundComposition {
  readonly clients: AwsClients;
  readonly resources: ResourceNames;
  /** Our host name, the one our Authentication-Results and spam headers name. */
  readonly hostname: string;
  readonly logger: InboundDeps['logger'];
  readonly metrics: InboundDeps['metrics'];
  readonly srs?: SenderRewriting | null;
}

export function composeInbound({ clients, resources, hostname, logger, metrics, srs }: InboundComposition): InboundDeps {
  const blobs = new BlobStore(clients.s3, resources.bucket);
  const store = createStore(clients, resources, { onOrphan: (key) => blobs.markOrphan(key) });
  return {
    directory: store.directory,
    store: store.mailStore,
    blobs,
    indexMessage,
    logger,
    metrics,
    outbound: {
      records: new OutboundQueueStore(clients.doc, resources.tables.deliveries),
      queue: new QueueSender(clients.sqs),
      queueUrl: resources.queues.outbound,
      blobRefs: store.blobRefs,
    },
    ...(srs ? { srs } : {}),
    junk: composeJunkFiling(clients.doc, resources.tables, hostname),
  };
}

/**
 * The junk filter as the function files with it: the models of the accounts this environment
 * files for, decoded once and checked by one head read per message.
 */
export function composeJunkFiling(doc: DynamoDBDocumentClient, tables: ResourceNames['tables'], hostname: string): JunkFiling {
  const models = new JunkModelStore(doc, tables, new JunkModelCache());
  return { filter: new JunkFilter(models, hostname), verdicts: models };
}
