// The inbound Lambda (SQS → DynamoDB mailboxes): the composition root. Configuration, AWS
// clients, store and telemetry are built once per execution environment, on first call.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { coreConfigFromEnv } from '../../core/config.ts';
import { createAwsClients } from '../../core/aws.ts';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { senderRewritingFromEnv, type SenderRewriting } from '../../core/srs.ts';
import { createBatchProcessor } from './process-batch.ts';
import { composeInbound } from './compose.ts';
import { awsOnlyClientOptions } from '../../core/aws/client-options.ts';

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
let runtimeCache: Promise<InboundRuntime> | undefined;

/**
 * The SRS secret: MAIL_SRS_SECRET (the local stack), or the Secrets Manager secret named by
 * MAIL_SRS_SECRET_ARN (AWS; read once per execution environment, never put in the environment).
 */
async function senderRewriting(env: Record<string, string | undefined>, region: string): Promise<SenderRewriting | null> {
  if (env.MAIL_SRS_SECRET || !env.MAIL_SRS_SECRET_ARN) return senderRewritingFromEnv(env);
  const out = await new SecretsManagerClient(awsOnlyClientOptions(region)).send(new GetSecretValueCommand({ SecretId: env.MAIL_SRS_SECRET_ARN }));
  return senderRewritingFromEnv({ ...env, MAIL_SRS_SECRET: out.SecretString ?? '' });
}

async function buildRuntime(env: Record<string, string | undefined>): Promise<InboundRuntime> {
  const config = coreConfigFromEnv(env);
  const srs = await senderRewriting(env, config.aws.region);
  const logger = new Logger({ serviceName: 'mail-inbound' });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'Mail', serviceName: 'mail-inbound' });
  const clients = createAwsClients(config.aws);
  const processBatch = createBatchProcessor(composeInbound({ clients, resources: config.resources, hostname: config.mail.hostname, logger, metrics, srs }));
  return { logger, metrics, processBatch };
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  runtimeCache ??= buildRuntime(process.env);
  // A failed build (the secret unreadable) is not kept: the next invocation tries again.
  runtimeCache.catch(() => { runtimeCache = undefined; });
  const { logger, metrics, processBatch } = await runtimeCache;
  logger.addContext(context);
  try {
    return await processBatch(event);
  } finally {
    // EMF lines go out with each invocation, whatever its outcome.
    metrics.publishStoredMetrics();
  }
}
