// Invariant 3 under real concurrency: several writer processes file into one mailbox while a
// reader polls; one writer is SIGKILLed between its message put and the uidNext advance, and its
// deliveries are redelivered by a fresh process (as SQS would).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEachFiledOnce, GapFreeReader, startWriterRig } from './uid-writers.ts';

const PER_WORKER = 50;

test('200 messages from 4 processes, one killed mid-filing: UIDs 1..200, gap-free prefixes throughout, each delivery once', { timeout: 240_000 }, async (t) => {
  const { mailStore, account, run: start } = await startWriterRig(t, 'uid.test');
  const run = (keys: string[], stallKey?: string) => start({ keys, ...(stallKey ? { stallKey } : {}) });

  const keysOf = (w: number) => Array.from({ length: PER_WORKER }, (_, i) => `w${w}-m${i}`);
  const stallKey = 'w3-m10';
  const writers = [0, 1, 2].map((w) => run(keysOf(w)));
  const doomed = run(keysOf(3), stallKey);
  const stalledUid = doomed.stalled;

  // The reader: every snapshot must be exactly 1..k, k never shrinks, and a UID never changes message.
  const reader = new GapFreeReader(mailStore, account);

  try {
    const uid = await stalledUid;
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exit, 'SIGKILL');
    // SQS redelivers the dead writer's batch to a fresh process.
    const redelivery = run(keysOf(3));
    const codes = await Promise.all([...writers, redelivery].map((w) => w.exit));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    await reader.stop();

    const final = await assertEachFiledOnce(mailStore, account, [0, 1, 2, 3].flatMap(keysOf));
    // The stalled message was helped into view at the UID it was written under, not refiled.
    assert.equal(final[uid - 1]!.index.envelope.subject, `message ${stallKey}`);
    assert.ok(reader.snapshots > 5, `the reader polled throughout (${reader.snapshots} snapshots)`);
  } finally {
    await reader.stop().catch(() => undefined);
  }
  // A reader failure surfaces here rather than being swallowed above.
  await reader.done;
});
