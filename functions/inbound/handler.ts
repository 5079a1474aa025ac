// The inbound Lambda (SQS → DynamoDB mailboxes): the composition root. Configuration, AWS
// clients, store and telemetry are built once per execution environment, on first call.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { coreConfigFromEnv } from '../../core/config.ts';
import { createAwsClients } from '../../core/aws.ts';
import { BlobStore } from '../../core/blobs.ts';
import { createStore } from '../../core/store/index.ts';
import { indexMessage } from '../../core/mime/index.ts';
import { QueueSender } from '../../core/queues.ts';
import { OutboundQueueStore } from '../../core/store/outbound-queue.ts';
import { createBatchProcessor } from './process-batch.ts';

interface InboundRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly processBatch: (event: SQSEvent) => Promise<SQSBatchResponse>;
}

/**
 * Cache of the runtime for this execution environment (Lambda reuses it across invocations,
 * so clients keep their connections). Built lazily so importing the module never throws:
 * a configuration error surfaces as a failed invocation with a readable message.
 */
let runtimeCache: InboundRuntime | undefined;

function buildRuntime(env: Record<string, string | undefined>): InboundRuntime {
  const config = coreConfigFromEnv(env);
  const logger = new Logger({ serviceName: 'mail-inbound' });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Mail', serviceName: 'mail-inbound' });
  const clients = createAwsClients(config.aws);
  const blobs = new BlobStore(clients.s3, config.resources.bucket);
  const store = createStore(clients, config.resources, { onOrphan: (key) => blobs.markOrphan(key) });
  const processBatch = createBatchProcessor({
    directory: store.directory,
    store: store.mailStore,
    blobs,
    indexMessage,
    logger,
    metrics,
    outbound: {
      records: new OutboundQueueStore(clients.doc, config.resources.tables.deliveries),
      queue: new QueueSender(clients.sqs),
      queueUrl: config.resources.queues.outbound,
      blobRefs: store.mailStore,
    },
  });
  return { logger, metrics, processBatch };
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  runtimeCache ??= buildRuntime(process.env);
  const { logger, metrics, processBatch } = runtimeCache;
  logger.addContext(context);
  try {
    return await processBatch(event);
  } finally {
    // EMF lines go out with each invocation, whatever its outcome.
    metrics.publishStoredMetrics();
  }
}
