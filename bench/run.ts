// `npm run bench`: runs the benchmarks, prints tables and writes results to bench/results/.
//   BENCH_MESSAGES (default 500), BENCH_CONNECTIONS (8), BENCH_SIZE (10240), BENCH_ONLY (name),
//   MAIL_AWS_LATENCY (aws | s3=30,dynamodb=5,sqs=10): AWS's latencies on the emulators' requests
//   ingest: BENCH_DNS_MS (20: each answer of the modelled DNS the verifying MX asks)
//   mailbox: BENCH_MAILBOX_MESSAGES (1000), BENCH_SELECT_MAILBOX (10000), BENCH_IDLE_SESSIONS (2000),
//     BENCH_READS_PER_SESSION (the servers' S3 reads in flight per session; default the production 8)
//   mailctl: BENCH_MAILCTL_RUNS (9)
//   import: BENCH_IMPORT_MESSAGES (1000), BENCH_SIZE
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyModelFromEnv } from '../core/aws/latency.ts';
import { DEFAULT_BLOB_READ_LIMITS } from '../core/blob-read-budget.ts';
import { printIngest, runIngestBenchmark } from './ingest.ts';
import { printMailbox, runMailboxBenchmark } from './mailbox.ts';
import { printMailctl, runMailctlBenchmark } from './mailctl.ts';
import { printImport, runImportBenchmark } from './import.ts';

const env = process.env;
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version };
const only = env.BENCH_ONLY;

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

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nresults written to ${file}`);
