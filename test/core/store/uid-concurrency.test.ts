// Invariant 3 under real concurrency: several writer processes file into one mailbox while a
// reader polls; one writer is SIGKILLed between its message put and the uidNext advance, and its
// deliveries are redelivered by a fresh process (as SQS would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startTestWorld } from '../../helpers/emulators.ts';
import { createStore } from '../../../core/store/index.ts';

const WORKERS = 4;
const PER_WORKER = 50;
const worker = fileURLToPath(new URL('./uid-worker.ts', import.meta.url));
const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));

test('200 messages from 4 processes, one killed mid-filing: UIDs 1..200, gap-free prefixes throughout, each delivery once', { timeout: 240_000 }, async (t) => {
  const world = await startTestWorld();
  t.after(() => world.close());
  const { directory, mailStore } = createStore(world.clients, world.config.resources);
  await directory.addDomain('uid.test');
  const account = (await directory.addAccount('writer@uid.test', 'pw')).address;

  const children = new Set<ChildProcess>();
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const run = (keys: string[], stallKey?: string) => {
    const child = spawn(node, ['--import', 'tsx', worker], {
      env: {
        ...process.env,
        UID_WORKER_JOB: JSON.stringify({ endpoint: world.emulators.dynamoEndpoint, tables: world.config.resources.tables, account, keys, stallKey }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    const lines = createInterface({ input: child.stdout! });
    const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    return { child, lines, exit };
  };

  const keysOf = (w: number) => Array.from({ length: PER_WORKER }, (_, i) => `w${w}-m${i}`);
  const stallKey = 'w3-m10';
  const writers = [0, 1, 2].map((w) => run(keysOf(w)));
  const doomed = run(keysOf(3), stallKey);
  const stalledUid = new Promise<number>((resolve, reject) => {
    doomed.lines.on('line', (line) => {
      const match = /^stalled (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
    doomed.exit.then((code) => reject(new Error(`doomed writer exited (${code}) before stalling`)));
  });

  // The reader: every snapshot must be exactly 1..k, k never shrinks, and a UID never changes message.
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
  reader.catch(() => undefined); // its failure is rethrown by the final `await reader`

  try {
    const uid = await stalledUid;
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exit, 'SIGKILL');
    // SQS redelivers the dead writer's batch to a fresh process.
    const redelivery = run(keysOf(3));
    const codes = await Promise.all([...writers, redelivery].map((w) => w.exit));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    reading = false;
    await reader;

    const final = await mailStore.listMessages(account, 'INBOX');
    assert.deepEqual(final.map((m) => m.uid), Array.from({ length: WORKERS * PER_WORKER }, (_, i) => i + 1));
    const subjects = final.map((m) => m.index.envelope.subject);
    const expected = [0, 1, 2, 3].flatMap(keysOf).map((k) => `message ${k}`);
    assert.deepEqual([...subjects].sort(), expected.sort(), 'each delivery filed exactly once');
    // The stalled message was helped into view at the UID it was written under, not refiled.
    assert.equal(final[uid - 1]!.index.envelope.subject, `message ${stallKey}`);
    const inbox = (await mailStore.getMailbox(account, 'INBOX'))!;
    assert.equal(inbox.uidNext, WORKERS * PER_WORKER + 1);
    assert.ok(snapshots > 5, `the reader polled throughout (${snapshots} snapshots)`);
  } finally {
    reading = false;
    await reader.catch(() => undefined);
  }
  // A reader failure surfaces here rather than being swallowed above.
  await reader;
});
