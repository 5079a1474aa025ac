// The relay Lambda (outbound SQS → remote MX or smarthost, retries, DSNs): the composition root.
// Configuration, clients, caches and telemetry are built once per execution environment.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { Resolver } from 'node:dns/promises';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { coreConfigFromEnv } from '../../core/config.ts';
import { createAwsClients } from '../../core/aws.ts';
import { BlobStore } from '../../core/blobs.ts';
import { QueueSender } from '../../core/queues.ts';
import { createStore } from '../../core/store/index.ts';
import { DkimKeyStore } from '../../core/store/dkim-keys.ts';
import { OutboundQueueStore } from '../../core/outbound/queue-store.ts';
import type { DkimKey } from '../../core/dkim.ts';
import { relayConfigFromEnv, type Smarthost } from './config.ts';
import { createRelayBatchProcessor } from './process-batch.ts';
import { relayMetrics } from './telemetry.ts';
import { awsOnlyClientOptions } from '../../core/aws/client-options.ts';

interface RelayRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly processBatch: (event: SQSEvent, remainingMs: number) => Promise<SQSBatchResponse>;
}

/** Cache of the runtime for this execution environment (see functions/inbound/handler.ts). */
let runtimeCache: RelayRuntime | undefined;

/** DKIM keys change rarely (mailctl dkim generate); a warm function re-reads them after this. */
const DKIM_KEY_CACHE_MS = 5 * 60_000;

/** Smarthost credentials: from the environment (local), or from Secrets Manager, read on first use. */
function smarthostCredentialsReader(smarthost: Smarthost | null, region: string): () => Promise<{ user: string; pass: string } | undefined> {
  let credentialsCache: Promise<{ user: string; pass: string } | undefined> | undefined;
  return () => {
    credentialsCache ??= (async () => {
      if (!smarthost || smarthost.kind === 'ses-api') return undefined;
      if (smarthost.username) return { user: smarthost.username, pass: smarthost.password ?? '' };
      if (!smarthost.secretArn) return undefined;
      const out = await new SecretsManagerClient(awsOnlyClientOptions(region)).send(new GetSecretValueCommand({ SecretId: smarthost.secretArn }));
      const secret = JSON.parse(out.SecretString ?? '{}') as { username?: string; password?: string };
      if (!secret.username) throw new Error(`secret ${smarthost.secretArn} has no "username"`);
      return { user: secret.username, pass: secret.password ?? '' };
    })();
    // A failed read is not cached: the next attempt tries again.
    credentialsCache.catch(() => { credentialsCache = undefined; });
    return credentialsCache;
  };
}

function buildRuntime(env: Record<string, string | undefined>): RelayRuntime {
  const config = coreConfigFromEnv(env);
  const relay = relayConfigFromEnv(env);
  const logger = new Logger({ serviceName: 'mail-relay' });
  const metrics = relayMetrics(env);
  const clients = createAwsClients(config.aws);
  const blobs = new BlobStore(clients.s3, config.resources.bucket);
  const store = createStore(clients, config.resources, { onOrphan: (key) => blobs.markOrphan(key) });
  const queues = new QueueSender(clients.sqs);
  const records = new OutboundQueueStore(clients.doc, config.resources.tables.deliveries);
  const keys = new DkimKeyStore(clients.doc, config.resources.tables.directory);
  const dkimKeyCache = new Map<string, { key: DkimKey | null; until: number }>();
  const processBatch = createRelayBatchProcessor({
    hostname: config.mail.hostname,
    config: relay,
    blobs,
    blobRefs: store.blobRefs,
    directory: store.directory,
    records,
    queue: { sendOutbound: (url, event, delay) => queues.sendOutbound(url, event, delay), queueUrl: config.resources.queues.outbound },
    inbound: { sendInbound: (url, event) => queues.sendInbound(url, event), queueUrl: config.resources.queues.inbound },
    outbound: { records, queue: queues, queueUrl: config.resources.queues.outbound, blobRefs: store.blobRefs },
    dkimKeys: {
      async get(domain) {
        const cached = dkimKeyCache.get(domain);
        if (cached && cached.until > Date.now()) return cached.key;
        const key = await keys.get(domain);
        dkimKeyCache.set(domain, { key, until: Date.now() + DKIM_KEY_CACHE_MS });
        return key;
      },
    },
    resolver: new Resolver({ timeout: 5000, tries: 2 }),
    smarthostCredentials: smarthostCredentialsReader(relay.smarthost, config.aws.region),
    // The SES API signs with the function's role (the default credential chain): no secret.
    ...(relay.smarthost?.kind === 'ses-api' ? { ses: new SESv2Client(awsOnlyClientOptions(relay.smarthost.region)) } : {}),
    now: () => new Date(),
    logger,
    metrics,
  });
  return { logger, metrics, processBatch };
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  runtimeCache ??= buildRuntime(process.env);
  const { logger, metrics, processBatch } = runtimeCache;
  logger.addContext(context);
  try {
    return await processBatch(event, context.getRemainingTimeInMillis());
  } finally {
    metrics.publishStoredMetrics();
  }
}
