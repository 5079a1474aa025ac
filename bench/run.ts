// `npm run bench`: runs the benchmarks, prints tables and writes results to bench/results/.
//   BENCH_MESSAGES (default 500), BENCH_CONNECTIONS (8), BENCH_SIZE (10240), BENCH_ONLY (name),
//   MAIL_AWS_LATENCY (aws | s3=30,dynamodb=5,sqs=10): AWS's latencies on the emulators' requests
//   ingest: BENCH_DNS_MS (20: each answer of the modelled DNS the verifying MX asks)
//   mailbox: BENCH_MAILBOX_MESSAGES (1000), BENCH_SELECT_MAILBOX (10000), BENCH_IDLE_SESSIONS (2000),
//     BENCH_READS_PER_SESSION (the servers' S3 reads in flight per session; default the production 64)
//   mailctl: BENCH_MAILCTL_RUNS (9)
//   import: BENCH_IMPORT_MESSAGES (1000), BENCH_SIZE
//   dovecot: BENCH_DOVECOT_MESSAGES (1000), BENCH_DOVECOT_SELECT (2000; 10000 for the target's size),
//     BENCH_DOVECOT_SAMPLES (40), BENCH_DOVECOT_LOAD_CLIENTS (10), BENCH_DOVECOT_LOAD_SECONDS (10),
//     BENCH_DOVECOT_DELIVERIES (20); ours runs with the model off and with MAIL_AWS_LATENCY (default aws)
//   burst: BENCH_BURST_MESSAGES (6046: the whole SpamAssassin corpus), BENCH_BURST_SESSIONS (10),
//     BENCH_FILING_MESSAGES (1000), BENCH_FILING_MAILBOXES (100); filing with the model off and with
//     MAIL_AWS_LATENCY (default aws)
//   BENCH_RESULTS_DIR: where the results go (default bench/results/)
// Every figure with an anchor also goes to bench/results/latest.json (bench/README.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyModelFromEnv } from '../core/aws/latency.ts';
import { printAgainstDovecot, runAgainstDovecot } from './against-dovecot.ts';
import { figure, modelName, type Figure } from './figures.ts';
import { DEFAULT_BLOB_READ_LIMITS } from '../core/blob-read-budget.ts';
import { printIngest, runIngestBenchmark } from './ingest.ts';
import { printMailbox, runMailboxBenchmark } from './mailbox.ts';
import { printMailctl, runMailctlBenchmark } from './mailctl.ts';
import { printImport, runImportBenchmark } from './import.ts';
import { printBurst, runBurstBenchmark } from './burst.ts';
import { deployedInboundSettings } from './our-stack.ts';

const env = process.env;
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version };
const only = env.BENCH_ONLY;
const figures: Figure[] = [];
const machine = { cpus: cpus().length, loadAverageAtStart: loadavg().map((n) => +n.toFixed(1)) };

if (!only || only === 'ingest') {
  const ingest = await runIngestBenchmark({
    messages: Number(env.BENCH_MESSAGES ?? 500),
    connections: Number(env.BENCH_CONNECTIONS ?? 8),
    sizeBytes: Number(env.BENCH_SIZE ?? 10 * 1024),
    latency: latencyModelFromEnv(env),
    dnsLatencyMs: Number(env.BENCH_DNS_MS ?? 20),
  });
  printIngest(ingest);
  results.ingest = ingest;
  const model = modelName(ingest.options.latency);
  figures.push(
    figure(`SMTP accept, ${ingest.options.messages} over ${ingest.options.connections} sessions (Postfix)`, 'msg/s', ingest.pipeline.messagesPerSecond, ingest.postfix.messagesPerSecond, model),
    figure('SMTP DATA→250, p50 (Postfix)', 'ms', ingest.pipeline.dataToReplyP50Ms, ingest.postfix.dataToReplyP50Ms, model),
    figure(`SMTP accept, ${ingest.options.messages} over ${ingest.options.connections} sessions (smtp-sink)`, 'msg/s', ingest.pipeline.messagesPerSecond, ingest.smtpSink.messagesPerSecond, model),
  );
}

if (!only || only === 'mailbox') {
  const mailbox = await runMailboxBenchmark({
    messages: Number(env.BENCH_MAILBOX_MESSAGES ?? 1000),
    sizeBytes: Number(env.BENCH_SIZE ?? 10 * 1024),
    selectMailbox: Number(env.BENCH_SELECT_MAILBOX ?? 10_000),
    selects: 5,
    idleSessions: Number(env.BENCH_IDLE_SESSIONS ?? 2000),
    latency: latencyModelFromEnv(env),
    ...(env.BENCH_READS_PER_SESSION ? { blobReads: { ...DEFAULT_BLOB_READ_LIMITS, perSession: Number(env.BENCH_READS_PER_SESSION) } } : {}),
  });
  printMailbox(mailbox);
  results.mailbox = mailbox;
}

if (!only || only === 'mailctl') {
  const mailctl = await runMailctlBenchmark({ runs: Number(env.BENCH_MAILCTL_RUNS ?? 9) });
  printMailctl(mailctl);
  results.mailctl = mailctl;
}

if (!only || only === 'import') {
  const imported = await runImportBenchmark({ messages: Number(env.BENCH_IMPORT_MESSAGES ?? 1000), sizeBytes: Number(env.BENCH_SIZE ?? 10 * 1024) });
  printImport(imported);
  results.import = imported;
}

if (!only || only === 'dovecot') {
  const against = await runAgainstDovecot({
    messages: Number(env.BENCH_DOVECOT_MESSAGES ?? 1000),
    sizeBytes: Number(env.BENCH_SIZE ?? 10 * 1024),
    selectMailbox: Number(env.BENCH_DOVECOT_SELECT ?? 2000),
    samples: Number(env.BENCH_DOVECOT_SAMPLES ?? 40),
    loadClients: Number(env.BENCH_DOVECOT_LOAD_CLIENTS ?? 10),
    loadSeconds: Number(env.BENCH_DOVECOT_LOAD_SECONDS ?? 10),
    deliveries: Number(env.BENCH_DOVECOT_DELIVERIES ?? 20),
    latency: latencyModelFromEnv(env) ?? latencyModelFromEnv({ MAIL_AWS_LATENCY: 'aws' })!,
  });
  printAgainstDovecot(against);
  results.dovecot = against;
  figures.push(...against.figures);
}

if (!only || only === 'burst') {
  const burst = await runBurstBenchmark({
    burst: { messages: Number(env.BENCH_BURST_MESSAGES ?? 6046), sessions: Number(env.BENCH_BURST_SESSIONS ?? 10) },
    filing: {
      messages: Number(env.BENCH_FILING_MESSAGES ?? 1000),
      mailboxes: Number(env.BENCH_FILING_MAILBOXES ?? 100),
      latency: latencyModelFromEnv(env) ?? latencyModelFromEnv({ MAIL_AWS_LATENCY: 'aws' })!,
      inbound: deployedInboundSettings(),
    },
  });
  printBurst(burst);
  results.burst = burst;
  figures.push(...burst.figures);
}

const dir = env.BENCH_RESULTS_DIR ?? fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
const latest = { startedAt: results.startedAt, finishedAt: new Date().toISOString(), node: process.version, machine: { ...machine, loadAverageAtEnd: loadavg().map((n) => +n.toFixed(1)) }, figures };
writeFileSync(join(dir, 'latest.json'), JSON.stringify(latest, null, 2));
console.log(`\nresults written to ${file} and ${join(dir, 'latest.json')}`);
