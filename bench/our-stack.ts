// Our stack as the benchmarks run it, written once for all of them: the emulators with the
// resources on them, the SMTP edge's MX listener, the inbound function behind the local
// SQS→Lambda runner (composed as functions/inbound/handler.ts composes it), and one task's IMAP
// and POP3 servers (as mailbox-server/main.ts builds a task).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSEvent } from 'aws-lambda';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../core/aws.ts';
import { BlobReadBudget, DEFAULT_BLOB_READ_LIMITS, type BlobReadLimits } from '../core/blob-read-budget.ts';
import { BlobStore } from '../core/blobs.ts';
import { BodyCache } from '../core/body-cache.ts';
import type { AwsConfig, ResourceNames } from '../core/config.ts';
import { ConnectionsPerAddress } from '../core/connections-per-address.ts';
import { LoginFailureCounter } from '../core/login-failures.ts';
import { QueueSender } from '../core/queues.ts';
import { createStore } from '../core/store/index.ts';
import { DynamoMaildropLocks } from '../core/store/maildrop-lock.ts';
import { createSelfSignedCertificate } from '../core/tls.ts';
import { VerifiedCredentialCache } from '../core/verified-credentials.ts';
import { composeInbound } from '../functions/inbound/compose.ts';
import { createBatchProcessor } from '../functions/inbound/process-batch.ts';
import { settingsFromContext } from '../infra/settings.ts';
import { ensureResources } from '../local/bootstrap.ts';
import { EMULATOR_CREDENTIALS, startEmulators, type Emulators } from '../local/emulators.ts';
import { startSqsEventSource } from '../local/runner.ts';
import { startImapServer } from '../mailbox-server/imap/server.ts';
import { SharedMailboxHeads } from '../mailbox-server/mailbox-heads.ts';
import { MailboxStates } from '../mailbox-server/mailbox-states.ts';
import { NewMessagePrefetch } from '../mailbox-server/prefetch.ts';
import { startPop3Server } from '../mailbox-server/pop3/server.ts';
import type { InboundAuthenticationOptions } from '../smtp-edge/authentication.ts';
import { startSmtpEdge } from '../smtp-edge/server.ts';
import { startEmulatorProcess } from './emulator-process.ts';

export interface BenchEmulators {
  /** Where our clients connect (add `latency` for the model). */
  readonly aws: AwsConfig;
  /** Clients without the latency model, for setting up and seeding. */
  readonly setup: AwsClients;
  readonly resources: ResourceNames;
  /** The inbound queue's ARN, for the records the event source hands the function. */
  readonly inboundQueueArn: string;
  stop(): Promise<void>;
}

/**
 * The emulators on a data folder of their own, with the tables, queues and bucket created.
 * `ownProcess`: in a process of their own (bench/emulator-process.ts), as an anchor runs in its own.
 */
export async function startBenchEmulators(options: { ownProcess: boolean }): Promise<BenchEmulators> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-bench-'));
  let emulators: Emulators | null = null;
  let setup: AwsClients | null = null;
  const stop = async () => {
    if (setup) destroyAwsClients(setup);
    await emulators?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    emulators = options.ownProcess ? await startEmulatorProcess(dataDir) : await startEmulators({ dataDir });
    const aws: AwsConfig = {
      region: 'us-east-1',
      endpoints: { s3: emulators.objectQueueEndpoint, sqs: emulators.objectQueueEndpoint, dynamodb: emulators.dynamoEndpoint },
      credentials: { ...EMULATOR_CREDENTIALS },
    };
    setup = createAwsClients(aws);
    const resources = await ensureResources(setup, 'bench');
    const attributes = await setup.sqs.send(new GetQueueAttributesCommand({ QueueUrl: resources.queues.inbound, AttributeNames: ['QueueArn'] }));
    return { aws, setup, resources, inboundQueueArn: attributes.Attributes!.QueueArn!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const tlsFor = (name: string) => createSelfSignedCertificate(name, [name, '127.0.0.1'], new Date(Date.now() - 3600_000), new Date(Date.now() + 86_400_000));

/** The edge's MX listener on a free loopback port. */
export async function startBenchEdge(clients: AwsClients, resources: ResourceNames, options: { maxConnectionsPerIp?: number; authentication?: InboundAuthenticationOptions | null } = {}) {
  const edge = await startSmtpEdge({
    mail: { hostname: 'mx.bench.local', maxMessageBytes: 25 * 1024 * 1024, maxRecipients: 100 },
    directory: createStore(clients, resources).directory,
    blobs: new BlobStore(clients.s3, resources.bucket),
    queue: new QueueSender(clients.sqs),
    inboundQueueUrl: resources.queues.inbound,
    tls: tlsFor('mx.bench.local'),
    listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' }],
    resolver: { reverse: async () => [] } as never,
    ...(options.maxConnectionsPerIp ? { limits: { maxConnectionsPerIp: options.maxConnectionsPerIp } } : {}),
    ...(options.authentication ? { authentication: options.authentication } : {}),
  });
  return { port: edge.ports.mx!, close: () => edge.close() };
}

/** How Lambda's SQS event source drives the inbound function. */
export interface InboundFunctionSettings {
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** Batches in flight at once. */
  readonly concurrency: number;
  /** Longest long poll; also bounds how long stopping takes. */
  readonly waitTimeSeconds: number;
}

/**
 * Lambda's SQS event source starts with five concurrent batches and scales out from there while
 * the queue holds more (AWS Lambda developer guide, "Scaling and concurrency for SQS event
 * sources"); without a maxConcurrency in the deployment, the bench runs the five it starts with.
 */
const LAMBDA_INITIAL_SQS_BATCHES = 5;

/** The inbound function's event source as `cdk deploy` sets it up from this checkout's cdk.json. */
export function deployedInboundSettings(): InboundFunctionSettings {
  const cdkJson = JSON.parse(readFileSync(fileURLToPath(new URL('../cdk.json', import.meta.url)), 'utf8')) as { context: Record<string, unknown> };
  const inbound = settingsFromContext((key) => cdkJson.context[key]).functions.inbound;
  return {
    batchSize: inbound.batchSize,
    maxBatchingWindowSeconds: inbound.maxBatchingWindowSeconds,
    concurrency: inbound.maxConcurrency ?? LAMBDA_INITIAL_SQS_BATCHES,
    waitTimeSeconds: 1,
  };
}

/**
 * The inbound function on the inbound queue. `onFiled` hears the inbound ids of each batch's
 * records that were not reported as failed, and when their batch ended (performance.now()).
 */
export function startInboundFunction(
  clients: AwsClients,
  { resources, inboundQueueArn }: Pick<BenchEmulators, 'resources' | 'inboundQueueArn'>,
  settings: InboundFunctionSettings,
  onFiled: (inboundIds: string[], at: number) => void = () => undefined,
): { stop(): Promise<void> } {
  const processBatch = createBatchProcessor(composeInbound({
    clients, resources, hostname: 'mx.bench.local',
    logger: { info() {}, warn() {}, error: (m, f) => console.error(m, f) },
    metrics: { addMetric() {} },
  }));
  const source = startSqsEventSource({
    sqs: clients.sqs,
    queueUrl: resources.queues.inbound,
    queueArn: inboundQueueArn,
    region: 'us-east-1',
    functionName: 'bench-inbound',
    batchSize: settings.batchSize,
    maxBatchingWindowSeconds: settings.maxBatchingWindowSeconds,
    timeoutSeconds: 60,
    concurrency: settings.concurrency,
    waitTimeSeconds: settings.waitTimeSeconds,
    handler: async (event: SQSEvent) => {
      const response = await processBatch(event);
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      onFiled(event.Records.filter((r) => !failed.has(r.messageId)).map((r) => (JSON.parse(r.body) as { id: string }).id), performance.now());
      return response;
    },
  });
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await source.stop();
    },
  };
}

/**
 * One mailbox-server task on `clients`: its own body cache, verified-credential cache (unless
 * `credentialCache: false`), shared mailbox heads and shared mailbox states, IMAP and POP3 sharing them.
 */
export async function startMailboxTask(clients: AwsClients, resources: ResourceNames, options: { credentialCache?: boolean; blobReads?: BlobReadLimits } = {}) {
  const created = createStore(clients, resources, options.credentialCache === false ? {} : { verifiedCredentials: new VerifiedCredentialCache() });
  const blobs = new BlobStore(clients.s3, resources.bucket);
  const blobReads = new BlobReadBudget(blobs, options.blobReads ?? DEFAULT_BLOB_READ_LIMITS);
  const bodyCache = new BodyCache();
  // As mailbox-server/main.ts composes it: new small messages prefetched into the body cache.
  const prefetch = new NewMessagePrefetch(bodyCache, blobReads);
  const mailboxStates = new MailboxStates({}, {}, prefetch.newMessages);
  const mailStore = mailboxStates.wrap(new SharedMailboxHeads().wrap(created.mailStore));
  const shared = {
    directory: created.directory, store: mailStore, blobs, blobReads,
    bodyCache, throttle: new LoginFailureCounter(), preLoginConnections: new ConnectionsPerAddress(10_000), tls: tlsFor('localhost'),
  };
  const imap = await startImapServer({ ...shared, mailboxStates, hostname: 'bench', listeners: [{ name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false }] });
  try {
    const pop3 = await startPop3Server({ ...shared, locks: new DynamoMaildropLocks(clients.doc, resources.tables), ports: { plain: 0, tls: null } });
    return {
      imap: imap.ports.imap!,
      pop3: pop3.ports.plain!,
      async close() {
        prefetch.close();
        await imap.close();
        await pop3.close();
        await prefetch.settled();
      },
    };
  } catch (error) {
    await imap.close();
    throw error;
  }
}
