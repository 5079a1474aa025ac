// Invariant 3 with batch writers (docs/decisions/0019-batch-uid-allocation.md): writer processes
// file SQS-sized batches into one mailbox while a reader polls; one is SIGKILLed between reserving
// UIDs for a batch and writing any of it, another after writing its batch's messages but before
// recording them or advancing uidNext. Their deliveries are redelivered by fresh processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestWorld } from '../../helpers/emulators.ts';
import { createStore } from '../../../core/store/index.ts';

const WORKERS = 4;
const PER_WORKER = 40;
const BATCH = 10;
const worker = fileURLToPath(new URL('./uid-worker.ts', import.meta.url));
const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));

test('160 messages in batches of 10 from 4 processes, one killed after reserving, one after writing: UIDs 1..160, gap-free prefixes throughout, each delivery once', { timeout: 240_000 }, async (t) => {
  const world = await startTestWorld();
  t.after(() => world.close());
  const { directory, mailStore } = createStore(world.clients, world.config.resources);
  await directory.addDomain('batch.test');
  const account = (await directory.addAccount('writer@batch.test', 'pw')).address;

  const children = new Set<ChildProcess>();
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const run = (keys: string[], stall?: { key: string; at: 'put' | 'reserve' }) => {
    const job = { endpoint: world.emulators.dynamoEndpoint, tables: world.config.resources.tables, account, keys, batch: BATCH, stallKey: stall?.key, stallAt: stall?.at };
    const child = spawn(node, ['--import', 'tsx', worker], { env: { ...process.env, UID_WORKER_JOB: JSON.stringify(job) }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    const lines = createInterface({ input: child.stdout! });
    const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    const stalled = new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const match = /^stalled (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      void exit.then((code) => reject(new Error(`writer exited (${code}) before stalling`)));
    });
    stalled.catch(() => undefined);
    return { child, exit, stalled };
  };

  const keysOf = (w: number) => Array.from({ length: PER_WORKER }, (_, i) => `w${w}-m${i}`);
  const writers = [0, 1].map((w) => run(keysOf(w)));
  const beforeWriting = run(keysOf(2), { key: 'w2-m15', at: 'reserve' });
  const afterWriting = run(keysOf(3), { key: 'w3-m25', at: 'put' });

  const seen = new Map<number, string>();
  let snapshots = 0;
  let largest = 0;
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const messages = await mailStore.listMessages(account, 'INBOX');
      const uids = messages.map((m) => m.uid);
      assert.deepEqual(uids, Array.from({ length: uids.length }, (_, i) => i + 1), 'a snapshot must be a gap-free prefix');
      assert.ok(uids.length >= largest, 'visible messages never disappear');
      largest = uids.length;
      for (const m of messages) {
        const subject = m.index.envelope.subject!;
        assert.equal(seen.get(m.uid) ?? subject, subject, `UID ${m.uid} changed message`);
        seen.set(m.uid, subject);
      }
      snapshots++;
    }
  })();
  reader.catch(() => undefined);

  try {
    const reservedAt = await beforeWriting.stalled;
    await afterWriting.stalled;
    for (const doomed of [beforeWriting, afterWriting]) {
      doomed.child.kill('SIGKILL');
      assert.equal(await doomed.exit, 'SIGKILL');
    }
    // SQS redelivers the dead writers' records to fresh processes (all of them: a superset is harmless).
    const redeliveries = [run(keysOf(2)), run(keysOf(3))];
    const codes = await Promise.all([...writers, ...redeliveries].map((w) => w.exit));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    reading = false;
    await reader;

    const final = await mailStore.listMessages(account, 'INBOX');
    assert.deepEqual(final.map((m) => m.uid), Array.from({ length: WORKERS * PER_WORKER }, (_, i) => i + 1));
    const subjects = final.map((m) => m.index.envelope.subject);
    const expected = [0, 1, 2, 3].flatMap(keysOf).map((k) => `message ${k}`);
    assert.deepEqual([...subjects].sort(), expected.sort(), 'each delivery filed exactly once');
    assert.ok(reservedAt <= WORKERS * PER_WORKER, 'the UIDs reserved by the writer that died were filled by others');
    const inbox = (await mailStore.getMailbox(account, 'INBOX'))!;
    assert.equal(inbox.uidNext, WORKERS * PER_WORKER + 1);
    assert.ok(snapshots > 5, `the reader polled throughout (${snapshots} snapshots)`);
  } finally {
    reading = false;
    await reader.catch(() => undefined);
  }
  await reader;
});
