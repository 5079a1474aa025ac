// The resynchronisation protocol of core/store/resync.ts on its own: the writer's late-allocation
// rule and the reader's watermark rules (a) and (b), with a hand-driven clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshModSeq, ModSeqWatermark, MODSEQ_LAND_MS } from '../../../core/store/resync.ts';

test('freshModSeq: an allocation that came back late is taken again, at most three times', async () => {
  let now = 0;
  let next = 10;
  const slow = async () => {
    now += MODSEQ_LAND_MS; // every answer takes longer than half the landing budget
    return next++;
  };
  assert.equal(await freshModSeq(slow, () => now), 12, 'third allocation kept');
  let fastCalls = 0;
  assert.equal(await freshModSeq(async () => (fastCalls++, 7), () => now), 7);
  assert.equal(fastCalls, 1);
});

test('watermark rule (a): it passes every modseq seen without a hole, and stops at a hole', () => {
  const w = new ModSeqWatermark(5, [2, 3, 4, 5], { now: () => 0, settleMs: 3000 });
  assert.equal(w.settled, 5);
  assert.equal(w.behind, false);
  w.observe(9);
  assert.equal(w.behind, true);
  w.advance([6, 8, 9], w.queryTime());
  assert.equal(w.settled, 6, 'modseq 7 not seen yet');
  w.advance([7, 8, 9], w.queryTime()); // the next query from 6 answers everything above it again
  assert.equal(w.settled, 9);
});

test('watermark rule (b): a checkpoint is trusted only after a query sent settleMs after it was seen', () => {
  let now = 0;
  const w = new ModSeqWatermark(5, [2, 3, 4, 5], { now: () => now, settleMs: 3000 });
  w.observe(8); // seen at 0; modseqs 6..8 never show up (abandoned or superseded)
  now = 2999;
  w.advance([], w.queryTime());
  assert.equal(w.settled, 5);
  now = 3000;
  w.advance([], w.queryTime());
  assert.equal(w.settled, 8);
  assert.equal(w.behind, false);
});

test('at open the watermark starts a lookback below the highest modseq and rises over what the full read saw', () => {
  const w = new ModSeqWatermark(1000, [999, 1000], { now: () => 0 });
  assert.ok(w.settled < 999, 'modseqs below 999 were not seen: not trusted yet');
});
