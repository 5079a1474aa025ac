// Ingest benchmark: N messages of S bytes over C connections into the pipeline
// (SMTP edge → S3 + SQS → inbound handler → DynamoDB) on the embedded emulators, against two
// anchors run the same way in the same run: Postfix accepting into its queue on disk (the same
// durable acceptance as ours) and smtp-sink (the protocol ceiling: it stores nothing). With a
// latency model (MAIL_AWS_LATENCY) the pipeline's SDK requests wait as AWS's would.
// The pipeline runs once per verification mode of the MX (docs/decisions/0014-inbound-authentication.md):
// off; on with the machine's own DNS (no outside DNS here: every lookup fails at once); and on
// with a modelled DNS that answers every sender domain's SPF and DMARC records after a delay,
// each message from a domain of its own so the cache never helps. Beside them, what verifying
// one message costs in CPU alone, unsigned and DKIM-signed.
import { promises as dns } from 'node:dns';
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { budgetedResolver, DnsAnswerCache } from '../core/authentication/dns.ts';
import { startVerification } from '../core/authentication/verify.ts';
import type { InboundAuthenticationOptions } from '../smtp-edge/authentication.ts';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../core/aws.ts';
import { createStore } from '../core/store/index.ts';
import { percentile, sendOverOneConnection, syntheticMessage } from './smtp-load.ts';
import { startPostfix, startSmtpSink, type AnchorServer } from './anchors/postfix.ts';
import { startBenchEdge, startBenchEmulators, startInboundFunction } from './our-stack.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { CapacityCounter, countCapacity } from './capacity.ts';
import { dollarsPerMessage, PRICES_AS_OF } from './aws-prices.ts';

export interface IngestOptions {
  readonly messages: number;
  readonly connections: number;
  readonly sizeBytes: number;
  /** AWS's latencies for the pipeline's own requests; null = the emulators' speed. */
  readonly latency: LatencyModel | null;
  /** Each DNS answer of the modelled DNS takes this long (a recursive resolver's cache miss). */
  readonly dnsLatencyMs: number;
}

/** How the MX verifies in one pipeline run. */
type VerificationMode = 'off' | 'system-dns' | 'modelled-dns';

const FROM = 'sender@bench.example';
const TO = 'bench@example.test';

/** The n-th message's sender: a domain of its own, so no DNS answer is reused across messages. */
const senderOf = (n: number, perDomain: boolean) => (perDomain ? `sender@d${n}.bench.example` : FROM);

/**
 * A DNS that answers like the world for the bench's sender domains, after `delayMs`: SPF allowing
 * loopback, DMARC p=none; no DKIM keys (the messages are unsigned); nothing else exists.
 */
function modelledDns(delayMs: number): InboundAuthenticationOptions['resolve'] {
  return async (name, rrtype) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const domain = name.toLowerCase();
    if (rrtype === 'TXT' && /^d\d+\.bench\.example$/.test(domain)) return [['v=spf1 ip4:127.0.0.1 -all']];
    if (rrtype === 'TXT' && /^_dmarc\.d\d+\.bench\.example$/.test(domain)) return [['v=DMARC1; p=none']];
    throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: /bench\.example$/.test(domain) ? 'ENODATA' : 'ENOTFOUND' });
  };
}

function verificationOf(mode: VerificationMode, options: IngestOptions): InboundAuthenticationOptions | null {
  if (mode === 'off') return null;
  if (mode === 'modelled-dns') return { resolve: modelledDns(options.dnsLatencyMs) };
  // as smtp-edge/main.ts composes it
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  return { resolve: (name, rrtype) => resolver.resolve(name, rrtype) };
}

/** CPU and in-process cost of verifying one message (no SMTP, no S3), DNS answering at once. */
export async function verificationCost(options: IngestOptions) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const resolve: InboundAuthenticationOptions['resolve'] = async (name, rrtype) => {
    if (rrtype === 'TXT' && name === 'bench._domainkey.bench.example') return [[key]];
    if (rrtype === 'TXT' && name === 'bench.example') return [['v=spf1 ip4:127.0.0.1 -all']];
    if (rrtype === 'TXT' && name === '_dmarc.bench.example') return [['v=DMARC1; p=reject']];
    throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
  const unsigned = syntheticMessage(options.sizeBytes, 0, FROM, TO);
  const signature = { signingDomain: 'bench.example', selector: 'bench', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const signed = Buffer.concat([Buffer.from((await dkimSign(unsigned, { ...signature, signatureData: [signature] })).signatures), unsigned]);
  const cache = new DnsAnswerCache(resolve);
  const time = async (raw: Buffer, runs: number) => {
    const started = performance.now();
    for (let i = 0; i < runs; i++) {
      const resolver = budgetedResolver(cache, 5_000);
      const v = startVerification({ ip: '127.0.0.1', helo: 'client.bench.example', mailFrom: FROM, authservId: 'mx.bench.local' }, resolver);
      v.sink.end(raw);
      resolver.startClock();
      await v.results;
    }
    return (performance.now() - started) / runs;
  };
  const runs = Math.min(200, options.messages);
  // wall time with the modelled DNS, each message from a domain of its own (nothing cached):
  // what the lookups after the final dot add to the reply
  const modelled = new DnsAnswerCache(modelledDns(options.dnsLatencyMs));
  const started = performance.now();
  const dnsRuns = Math.min(50, runs);
  for (let i = 0; i < dnsRuns; i++) {
    const from = senderOf(i, true);
    const resolver = budgetedResolver(modelled, 5_000);
    const v = startVerification({ ip: '127.0.0.1', helo: 'client.bench.example', mailFrom: from, authservId: 'mx.bench.local' }, resolver);
    v.sink.end(syntheticMessage(options.sizeBytes, i, from, TO));
    resolver.startClock();
    await v.results;
  }
  const modelledDnsMsPerMessage = (performance.now() - started) / dnsRuns;
  return { unsignedMsPerMessage: await time(unsigned, runs), dkimSignedMsPerMessage: await time(signed, runs), modelledDnsMsPerMessage };
}

async function drive(port: number, options: IngestOptions, perDomain = false) {
  let n = 0;
  const next = () => {
    const from = senderOf(n, perDomain);
    return { from, to: TO, body: syntheticMessage(options.sizeBytes, n++, from, TO) };
  };
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
  const emulators = await startBenchEmulators({ ownProcess: false });
  const { aws, setup: setupClients, resources } = emulators;
  const edgeCounter = new RequestCounter();
  const inboundCounter = new RequestCounter();
  const edgeClients = createAwsClients({ ...aws, latency: options.latency }, edgeCounter);
  const inboundClients = createAwsClients({ ...aws, latency: options.latency }, inboundCounter);
  const capacity = new CapacityCounter();
  try {
    for (const clients of [edgeClients, inboundClients]) countCapacity(clients.dynamodb, capacity, resources.tables.messages);
    const setupStore = createStore(setupClients, resources);
    await setupStore.directory.addDomain('example.test');
    await setupStore.directory.addAccount(TO, 'bench-password-not-secret');

    const postfix = await anchorRun(() => startPostfix({ domains: ['example.test'] }), options);
    const sink = await anchorRun(startSmtpSink, options);

    const pipelineRun = async (mode: VerificationMode) => {
      const runCleanups: Array<() => Promise<void> | void> = [];
      try {
        const edge = await startBenchEdge(edgeClients, resources, { maxConnectionsPerIp: options.connections + 4, authentication: verificationOf(mode, options) });
        runCleanups.push(() => edge.close());

        const filedAt = new Map<string, number>();
        // As functions/inbound/handler.ts composes it (the junk filter included), so its requests are counted too.
        let allFiledNow = () => {};
        const allFiled = new Promise<void>((resolve) => { allFiledNow = resolve; });
        const inbound = startInboundFunction(inboundClients, emulators, { batchSize: 10, maxBatchingWindowSeconds: 0, concurrency: 2, waitTimeSeconds: 1 }, (ids, now) => {
          for (const id of ids) filedAt.set(id, now);
          if (filedAt.size >= options.messages) allFiledNow();
        });
        runCleanups.push(() => inbound.stop());

        const run = await drive(edge.port, options, mode === 'modelled-dns');
        await allFiled;
        const acceptToFiled = run.timings.map((t) => {
          const id = /queued as (\S+)/.exec(t.reply)?.[1] ?? '';
          return (filedAt.get(id) ?? NaN) - t.repliedAt;
        });
        return {
          messagesPerSecond: options.messages / run.seconds,
          dataToReplyP50Ms: percentile(run.timings.map((t) => t.dataToReplyMs), 50),
          dataToReplyP99Ms: percentile(run.timings.map((t) => t.dataToReplyMs), 99),
          acceptedToFiledP50Ms: percentile(acceptToFiled, 50),
          acceptedToFiledP99Ms: percentile(acceptToFiled, 99),
          lastFiledAtSeconds: Math.max(...filedAt.values()) / 1000,
        };
      } finally {
        for (const cleanup of runCleanups.reverse()) await cleanup();
      }
    };

    const pipeline = await pipelineRun('off');
    const requests = { edge: edgeCounter.snapshot(), inbound: inboundCounter.snapshot(), total: edgeCounter.total() + inboundCounter.total() };
    // The cost line is the first run's (verification off): what a message costs to take in and file.
    // SQS receives and deletes are the runner's, standing in for Lambda's poller, whose requests AWS bills too.
    const requestsPerMessage: Record<string, number> = {};
    for (const counts of [requests.edge, requests.inbound]) {
      for (const [op, count] of Object.entries(counts)) requestsPerMessage[op] = (requestsPerMessage[op] ?? 0) + count / options.messages;
    }
    const cost = { requests: requestsPerMessage, dynamo: { wru: capacity.writeUnits / options.messages, rru: capacity.readUnits / options.messages } };
    const verified = await pipelineRun('system-dns');
    // what verifying adds: the directory reads of the recipient's and the From: domain's settings (cached)
    const edgeAfter = edgeCounter.snapshot();
    const verifiedEdgeRequests = Object.fromEntries(Object.keys(edgeAfter).map((op) => [op, +(((edgeAfter[op] ?? 0) - (requests.edge[op] ?? 0)) / options.messages).toFixed(2)]));
    const verifiedWithDnsLatency = await pipelineRun('modelled-dns');
    const verification = await verificationCost(options);

    const perMessage = (counts: Record<string, number>) =>
      Object.fromEntries(Object.entries(counts).map(([op, count]) => [op, +(count / options.messages).toFixed(2)]));
    return {
      options,
      postfix: summary(postfix, options.messages),
      smtpSink: summary(sink, options.messages),
      pipeline,
      verified,
      verifiedWithDnsLatency,
      verificationCost: verification,
      awsRequestsPerMessage: {
        edge: perMessage(requests.edge),
        edgeVerifying: verifiedEdgeRequests,
        inbound: perMessage(requests.inbound),
        total: +(requests.total / options.messages).toFixed(2),
      },
      dynamoUnitsPerMessage: { write: +cost.dynamo.wru.toFixed(2), read: +cost.dynamo.rru.toFixed(2) },
      dollarsPerMillion: Object.fromEntries(Object.entries(dollarsPerMessage(cost)).map(([k, v]) => [k, +(v * 1_000_000).toFixed(2)])),
    };
  } finally {
    for (const c of [edgeClients, inboundClients]) destroyAwsClients(c);
    await emulators.stop();
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
    'the same, MX verifying (this machine\'s DNS)': { ...row(result.verified), '250→filed p50 ms': f(result.verified.acceptedToFiledP50Ms), '250→filed p99 ms': f(result.verified.acceptedToFiledP99Ms) },
    [`the same, MX verifying (DNS answering in ${o.dnsLatencyMs} ms, no cache hits)`]: {
      ...row(result.verifiedWithDnsLatency), '250→filed p50 ms': f(result.verifiedWithDnsLatency.acceptedToFiledP50Ms), '250→filed p99 ms': f(result.verifiedWithDnsLatency.acceptedToFiledP99Ms),
    },
  });
  console.log(`verification alone, per message (CPU, DNS answering at once): ${result.verificationCost.unsignedMsPerMessage.toFixed(2)} ms unsigned, ${result.verificationCost.dkimSignedMsPerMessage.toFixed(2)} ms DKIM-signed; `
    + `with every DNS answer taking ${o.dnsLatencyMs} ms and nothing cached: ${result.verificationCost.modelledDnsMsPerMessage.toFixed(1)} ms (wall time, data to verdict)`);
  console.log(`accept rate verifying/not: ${(result.verified.messagesPerSecond / p.messagesPerSecond).toFixed(3)} (this machine's DNS), ${(result.verifiedWithDnsLatency.messagesPerSecond / p.messagesPerSecond).toFixed(3)} (modelled DNS)`);
  console.log(`accept rate ours/Postfix: ${(p.messagesPerSecond / a.messagesPerSecond).toFixed(3)}; ours/smtp-sink: ${(p.messagesPerSecond / c.messagesPerSecond).toFixed(3)}`);
  console.log('AWS requests per message (edge):', result.awsRequestsPerMessage.edge);
  console.log('AWS requests per message (edge, verifying):', result.awsRequestsPerMessage.edgeVerifying);
  console.log('AWS requests per message (inbound):', result.awsRequestsPerMessage.inbound);
  console.log(`AWS requests per message (total): ${result.awsRequestsPerMessage.total}`);
  console.log(`DynamoDB capacity units per message: ${result.dynamoUnitsPerMessage.write} WRU, ${result.dynamoUnitsPerMessage.read} RRU`);
  const d = result.dollarsPerMillion;
  console.log(
    `Dollars per million inbound ${o.sizeBytes} B messages (on-demand requests, ${PRICES_AS_OF.region}, prices of ${PRICES_AS_OF.date}): ` +
      `$${d.total} (S3 $${d.s3}, SQS $${d.sqs}, DynamoDB $${d.dynamodb})`,
  );
}
