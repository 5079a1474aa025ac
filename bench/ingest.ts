// Ingest benchmark: N messages of S bytes over C connections into the pipeline
// (SMTP edge → S3 + SQS → inbound handler → DynamoDB) on the embedded emulators, against two
// anchors run the same way in the same run: Postfix accepting into its queue on disk (the same
// durable acceptance as ours) and smtp-sink (the protocol ceiling: it stores nothing). With a
// latency model (MAIL_AWS_LATENCY) the pipeline's SDK requests wait as AWS's would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../core/aws.ts';
import { BlobStore } from '../core/blobs.ts';
import { QueueSender } from '../core/queues.ts';
import { OutboundQueueStore } from '../core/store/outbound-queue.ts';
import { createStore } from '../core/store/index.ts';
import { createSelfSignedCertificate } from '../core/tls.ts';
import { indexMessage } from '../core/mime/index.ts';
import { startEmulators, EMULATOR_CREDENTIALS } from '../local/emulators.ts';
import { ensureResources } from '../local/bootstrap.ts';
import { startSqsEventSource } from '../local/runner.ts';
import { startSmtpEdge } from '../smtp-edge/server.ts';
import { createBatchProcessor } from '../functions/inbound/process-batch.ts';
import { percentile, sendOverOneConnection, syntheticMessage } from './smtp-load.ts';
import { startPostfix, startSmtpSink, type AnchorServer } from './anchors/postfix.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { JunkFilter } from '../core/junk/filter.ts';
import { JunkModelCache, JunkModelStore } from '../core/store/junk-model.ts';

export interface IngestOptions {
  readonly messages: number;
  readonly connections: number;
  readonly sizeBytes: number;
  /** AWS's latencies for the pipeline's own requests; null = the emulators' speed. */
  readonly latency: LatencyModel | null;
}

const FROM = 'sender@bench.example';
const TO = 'bench@example.test';

async function drive(port: number, options: IngestOptions) {
  let n = 0;
  const next = () => ({ from: FROM, to: TO, body: syntheticMessage(options.sizeBytes, n++, FROM, TO) });
  const perConnection = Math.ceil(options.messages / options.connections);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: options.connections }, (_, i) =>
      sendOverOneConnection(port, next, Math.min(perConnection, options.messages - i * perConnection)),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  return { timings: results.flat(), seconds };
}

/** One anchor server, started, driven like the pipeline, stopped. */
async function anchorRun(start: () => Promise<AnchorServer>, options: IngestOptions) {
  const anchor = await start();
  try {
    return await drive(anchor.port, options);
  } finally {
    await anchor.stop();
  }
}

const summary = (run: Awaited<ReturnType<typeof drive>>, messages: number) => ({
  messagesPerSecond: messages / run.seconds,
  dataToReplyP50Ms: percentile(run.timings.map((t) => t.dataToReplyMs), 50),
  dataToReplyP99Ms: percentile(run.timings.map((t) => t.dataToReplyMs), 99),
});

export async function runIngestBenchmark(options: IngestOptions) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-bench-'));
  const emulators = await startEmulators({ dataDir });
  const aws = {
    region: 'us-east-1',
    endpoints: { s3: emulators.objectQueueEndpoint, sqs: emulators.objectQueueEndpoint, dynamodb: emulators.dynamoEndpoint },
    credentials: { ...EMULATOR_CREDENTIALS },
  };
  const setupClients = createAwsClients(aws);
  const edgeCounter = new RequestCounter();
  const inboundCounter = new RequestCounter();
  const edgeClients = createAwsClients({ ...aws, latency: options.latency }, edgeCounter);
  const inboundClients = createAwsClients({ ...aws, latency: options.latency }, inboundCounter);
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const resources = await ensureResources(setupClients, 'bench');
    const setupStore = createStore(setupClients, resources);
    await setupStore.directory.addDomain('example.test');
    await setupStore.directory.addAccount(TO, 'bench-password-not-secret');

    const postfix = await anchorRun(() => startPostfix({ domains: ['example.test'] }), options);
    const sink = await anchorRun(startSmtpSink, options);

    const edgeStore = createStore(edgeClients, resources);
    const edge = await startSmtpEdge({
      mail: { hostname: 'mx.bench.local', maxMessageBytes: 25 * 1024 * 1024, maxRecipients: 100 },
      directory: edgeStore.directory,
      blobs: new BlobStore(edgeClients.s3, resources.bucket),
      queue: new QueueSender(edgeClients.sqs),
      inboundQueueUrl: resources.queues.inbound,
      tls: createSelfSignedCertificate('mx.bench.local', ['mx.bench.local'], new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000)),
      listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' }],
      limits: { maxConnectionsPerIp: options.connections + 4 },
      resolver: { reverse: async () => [] } as never,
    });
    cleanups.push(() => edge.close());

    const filedAt = new Map<string, number>();
    const inboundStore = createStore(inboundClients, resources);
    // The junk filter as functions/inbound/handler.ts composes it, so its requests are counted too.
    const junkModels = new JunkModelStore(inboundClients.doc, resources.tables, new JunkModelCache());
    const processBatch = createBatchProcessor({
      directory: inboundStore.directory,
      store: inboundStore.mailStore,
      blobs: new BlobStore(inboundClients.s3, resources.bucket),
      indexMessage,
      logger: { info() {}, warn() {}, error: (m, f) => console.error(m, f) },
      metrics: { addMetric() {} },
      outbound: {
        records: new OutboundQueueStore(inboundClients.doc, resources.tables.deliveries),
        queue: new QueueSender(inboundClients.sqs),
        queueUrl: resources.queues.outbound,
        blobRefs: inboundStore.mailStore,
      },
      junk: { filter: new JunkFilter(junkModels, 'mx.bench.local'), verdicts: junkModels, mailboxes: inboundStore.mailStore },
    });
    const arn = (await setupClients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: resources.queues.inbound, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const allFiled = new Promise<void>((resolve) => {
      const source = startSqsEventSource({
        sqs: inboundClients.sqs,
        queueUrl: resources.queues.inbound,
        queueArn: arn,
        region: 'us-east-1',
        functionName: 'bench-inbound',
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        timeoutSeconds: 60,
        concurrency: 2,
        waitTimeSeconds: 1,
        handler: async (event: SQSEvent) => {
          const response = await processBatch(event);
          const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
          const now = performance.now();
          for (const record of event.Records) if (!failed.has(record.messageId)) filedAt.set(JSON.parse(record.body).id, now);
          if (filedAt.size >= options.messages) resolve();
          return response;
        },
      });
      cleanups.push(() => source.stop());
    });

    const pipeline = await drive(edge.ports.mx!, options);
    await allFiled;
    const filedSeconds = Math.max(...filedAt.values()) / 1000;
    const acceptToFiled = pipeline.timings.map((t) => {
      const id = /queued as (\S+)/.exec(t.reply)?.[1] ?? '';
      return (filedAt.get(id) ?? NaN) - t.repliedAt;
    });

    const perMessage = (counter: RequestCounter) =>
      Object.fromEntries(Object.entries(counter.snapshot()).map(([op, count]) => [op, +(count / options.messages).toFixed(2)]));
    return {
      options,
      postfix: summary(postfix, options.messages),
      smtpSink: summary(sink, options.messages),
      pipeline: {
        messagesPerSecond: options.messages / pipeline.seconds,
        dataToReplyP50Ms: percentile(pipeline.timings.map((t) => t.dataToReplyMs), 50),
        dataToReplyP99Ms: percentile(pipeline.timings.map((t) => t.dataToReplyMs), 99),
        acceptedToFiledP50Ms: percentile(acceptToFiled, 50),
        acceptedToFiledP99Ms: percentile(acceptToFiled, 99),
        lastFiledAtSeconds: filedSeconds,
      },
      awsRequestsPerMessage: {
        edge: perMessage(edgeCounter),
        inbound: perMessage(inboundCounter),
        total: +((edgeCounter.total() + inboundCounter.total()) / options.messages).toFixed(2),
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    for (const c of [setupClients, edgeClients, inboundClients]) destroyAwsClients(c);
    await emulators.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printIngest(result: Awaited<ReturnType<typeof runIngestBenchmark>>): void {
  const { postfix: a, smtpSink: c, pipeline: p, options: o } = result;
  const f = (n: number) => n.toFixed(1);
  const model = o.latency ? `AWS latency model on (${Object.entries(o.latency.medianMs).map(([s, ms]) => `${s} ${ms} ms`).join(', ')})` : 'no latency model';
  console.log(`\nIngest: ${o.messages} messages of ${o.sizeBytes} B over ${o.connections} connections; ${model}`);
  const row = (r: { messagesPerSecond: number; dataToReplyP50Ms: number; dataToReplyP99Ms: number }) => ({ 'msg/s': f(r.messagesPerSecond), 'DATA→250 p50 ms': f(r.dataToReplyP50Ms), 'DATA→250 p99 ms': f(r.dataToReplyP99Ms) });
  console.table({
    'smtp-sink (ceiling, stores nothing)': { ...row(c), '250→filed p50 ms': '-', '250→filed p99 ms': '-' },
    'Postfix into its queue (anchor)': { ...row(a), '250→filed p50 ms': '-', '250→filed p99 ms': '-' },
    'edge → S3/SQS → inbound → DynamoDB': { ...row(p), '250→filed p50 ms': f(p.acceptedToFiledP50Ms), '250→filed p99 ms': f(p.acceptedToFiledP99Ms) },
  });
  console.log(`accept rate ours/Postfix: ${(p.messagesPerSecond / a.messagesPerSecond).toFixed(3)}; ours/smtp-sink: ${(p.messagesPerSecond / c.messagesPerSecond).toFixed(3)}`);
  console.log('AWS requests per message (edge):', result.awsRequestsPerMessage.edge);
  console.log('AWS requests per message (inbound):', result.awsRequestsPerMessage.inbound);
  console.log(`AWS requests per message (total): ${result.awsRequestsPerMessage.total}`);
}
