// Invariant 3 with batch writers (docs/decisions/0019-batch-uid-allocation.md): writer processes
// file SQS-sized batches into one mailbox while a reader polls; one is SIGKILLed between reserving
// UIDs for a batch and writing any of it, another after writing its batch's messages but before
// recording them or advancing uidNext. Their deliveries are redelivered by fresh processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEachFiledOnce, GapFreeReader, startWriterRig } from './uid-writers.ts';

const WORKERS = 4;
const PER_WORKER = 40;
const BATCH = 10;

test('160 messages in batches of 10 from 4 processes, one killed after reserving, one after writing: UIDs 1..160, gap-free prefixes throughout, each delivery once', { timeout: 240_000 }, async (t) => {
  const { mailStore, account, run: start } = await startWriterRig(t, 'batch.test');
  const run = (keys: string[], stall?: { key: string; at: 'put' | 'reserve' }) => start({ keys, batch: BATCH, ...(stall ? { stallKey: stall.key, stallAt: stall.at } : {}) });

  const keysOf = (w: number) => Array.from({ length: PER_WORKER }, (_, i) => `w${w}-m${i}`);
  const writers = [0, 1].map((w) => run(keysOf(w)));
  const beforeWriting = run(keysOf(2), { key: 'w2-m15', at: 'reserve' });
  const afterWriting = run(keysOf(3), { key: 'w3-m25', at: 'put' });

  const reader = new GapFreeReader(mailStore, account);

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
    await reader.stop();

    await assertEachFiledOnce(mailStore, account, [0, 1, 2, 3].flatMap(keysOf));
    assert.ok(reservedAt <= WORKERS * PER_WORKER, 'the UIDs reserved by the writer that died were filled by others');
    assert.ok(reader.snapshots > 5, `the reader polled throughout (${reader.snapshots} snapshots)`);
  } finally {
    await reader.stop().catch(() => undefined);
  }
  await reader.done;
});
