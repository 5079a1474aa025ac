// `npm run bench`'s burst benchmark at a tiny size, so it cannot rot: it runs as `npm run bench`
// runs it (bench/run.ts, BENCH_ONLY=burst), against the real Postfix and Dovecot anchors, and
// writes latest.json in the shape bench/README.md gives, with every message seen on both sides.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MESSAGES = 20;
const SESSIONS = 3;
const FILING = 20;
const MAILBOXES = 3;

let child: ChildProcess | null = null;
const results = mkdtempSync(join(tmpdir(), 'bench-results-'));
after(async () => {
  // SIGTERM: the bench stops Postfix, Dovecot and the emulators on its way out
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(results, { recursive: true, force: true });
});

function runBench(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const UNITS = new Set(['msg/s', 'commands/s', 'cycles/s', 'ms', 's']);

test('the burst bench files every message on both sides and writes its figures as latest.json holds them', { timeout: 900_000 }, async () => {
  const { code, output } = await runBench({
    BENCH_ONLY: 'burst', BENCH_RESULTS_DIR: results, MAIL_AWS_LATENCY: 's3=2,dynamodb=1,sqs=1',
    BENCH_BURST_MESSAGES: String(MESSAGES), BENCH_BURST_SESSIONS: String(SESSIONS),
    BENCH_FILING_MESSAGES: String(FILING), BENCH_FILING_MAILBOXES: String(MAILBOXES),
  });
  assert.equal(code, 0, output.slice(-4000));

  const latest = JSON.parse(readFileSync(join(results, 'latest.json'), 'utf8'));
  assert.ok(!Number.isNaN(Date.parse(latest.startedAt)) && !Number.isNaN(Date.parse(latest.finishedAt)));
  for (const load of [latest.machine.loadAverageAtStart, latest.machine.loadAverageAtEnd]) {
    assert.ok(Array.isArray(load) && load.length === 3 && load.every((n: unknown) => typeof n === 'number'));
  }
  for (const f of latest.figures) {
    assert.deepEqual(Object.keys(f).sort(), ['anchor', 'latencyModel', 'name', 'ours', 'ratio', 'unit'], f.name);
    assert.ok(UNITS.has(f.unit), f.unit);
    // every burst and filing figure has both sides, measured in this run
    assert.ok(f.ours > 0 && f.anchor > 0 && f.ratio > 0, JSON.stringify(f));
  }
  const names = latest.figures.map((f: { name: string; latencyModel: string }) => `${f.name} [${f.latencyModel}]`);
  for (const sessions of ['1 session', `${SESSIONS} sessions`]) {
    for (const what of ['accepted → all visible', 'accept rate', 'filing rate']) {
      assert.ok(names.includes(`burst of ${MESSAGES} real messages to one mailbox, ${sessions}: ${what} [off]`), `${sessions}: ${what} in ${names.join('\n')}`);
    }
  }
  for (const model of ['off', 's3=2,dynamodb=1,sqs=1']) {
    assert.ok(names.includes(`sustained filing of ${FILING} into 1 mailbox (Dovecot LMTP) [${model}]`), names.join('\n'));
    assert.ok(names.includes(`sustained filing of ${FILING} into ${MAILBOXES} mailboxes (Dovecot LMTP) [${model}]`), names.join('\n'));
  }
  assert.equal(latest.figures.length, 10);

  const file = readdirSync(results).find((name) => /^bench-.*\.json$/.test(name));
  assert.ok(file, 'the full results file');
  const { burst } = JSON.parse(readFileSync(join(results, file), 'utf8'));
  assert.ok(burst.phases.length > 0 && burst.phases.every((p: { loadAverage: unknown[] }) => p.loadAverage.length === 3), 'the load as each phase began');
  assert.equal(burst.bursts.length, 2);
  for (const b of burst.bursts) {
    assert.equal(b.ours.seen, MESSAGES);
    assert.equal(b.anchor.seen, MESSAGES);
  }
  assert.equal(burst.filing.length, 4);
  for (const f of burst.filing) assert.equal(f.filed, FILING);
  for (const a of Object.values(burst.anchorFiling) as Array<{ delivered: number }>) assert.equal(a.delivered, FILING);
});
