// Invariant 3 with batch writers (docs/decisions/0019-batch-uid-allocation.md): writer processes
// file SQS-sized batches into one mailbox while a reader polls; one is SIGKILLed between reserving
// UIDs for a batch and writing any of it, another after writing its batch's messages but before
// advancing uidNext; in a second test one is killed between claiming UIDs for its deliveries and
// putting the messages. Their deliveries are redelivered by fresh processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEachFiledOnce, assertEachFiledOnceOverItems, GapFreeItemsReader, GapFreeReader, startWriterRig } from './uid-writers.ts';

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

test('90 messages in batches of 10 from 3 processes, one killed between claiming its UIDs and putting its messages: gap-free prefixes of items throughout, each delivery once', { timeout: 240_000 }, async (t) => {
  // docs/decisions/0024-sparse-index-and-delivery-claims.md: the dead writer's claims point at UIDs
  // it never filled; its redelivery must file each of those deliveries exactly once.
  const { mailStore, account, run: start } = await startWriterRig(t, 'claims.test');
  const perWorker = 30;
  const keysOf = (w: number) => Array.from({ length: perWorker }, (_, i) => `c${w}-m${i}`);
  const run = (keys: string[], stallKey?: string) => start({ keys, batch: BATCH, ...(stallKey ? { stallKey, stallAt: 'claim' as const } : {}) });
  const writers = [0, 1].map((w) => run(keysOf(w)));
  const afterClaiming = run(keysOf(2), 'c2-m15');
  const reader = new GapFreeItemsReader(mailStore, account);
  try {
    await afterClaiming.stalled;
    afterClaiming.child.kill('SIGKILL');
    assert.equal(await afterClaiming.exit, 'SIGKILL');
    const redelivery = run(keysOf(2));
    assert.deepEqual(await Promise.all([...writers, redelivery].map((w) => w.exit)), [0, 0, 0]);
    await reader.stop();
    // At most the dead writer's batch of claimed UIDs is given up to tombstones.
    await assertEachFiledOnceOverItems(mailStore, account, [0, 1, 2].flatMap(keysOf), BATCH);
    assert.ok(reader.snapshots > 5, `the reader polled throughout (${reader.snapshots} snapshots)`);
  } finally {
    await reader.stop().catch(() => undefined);
  }
  await reader.done;
});
