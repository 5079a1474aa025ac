// Reads started ahead of their turn: in order, and never more held (started, not taken) than
// the byte and count bounds allow, however many are scheduled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadAhead } from '../../core/read-ahead.ts';

/** Reads that finish only when told to, recording the order they started in. */
function manualReads() {
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const read = (n: number, octets: number) => () => {
    started.push(n);
    return new Promise<Buffer>((resolve) => finish.set(n, () => resolve(Buffer.alloc(octets, n))));
  };
  return { started, finish: (n: number) => finish.get(n)!(), read };
}

test('starts reads in order up to the byte bound; taking one lets the next start', async () => {
  const ahead = new ReadAhead({ maxOctets: 3000, maxReads: 100 });
  const r = manualReads();
  const handles = [0, 1, 2, 3, 4, 5].map((n) => ahead.schedule(1000, r.read(n, 1000)));
  assert.deepEqual(r.started, [0, 1, 2], 'three fit in 3000 octets');
  assert.equal(ahead.octets, 3000);
  r.finish(0);
  const first = await handles[0]!.take();
  assert.equal(first[0], 0);
  assert.deepEqual(r.started, [0, 1, 2, 3], 'taking one makes room for the next');
  for (const n of [1, 2, 3]) r.finish(n);
  for (const n of [1, 2, 3]) await handles[n]!.take();
  assert.deepEqual(r.started, [0, 1, 2, 3, 4, 5]);
  assert.ok(ahead.octets <= 3000);
});

test('the count bound holds for tiny reads; one read larger than the bound still starts alone', async () => {
  const ahead = new ReadAhead({ maxOctets: 1000, maxReads: 4 });
  const r = manualReads();
  const small = Array.from({ length: 10 }, (_, n) => ahead.schedule(1, r.read(n, 1)));
  assert.equal(r.started.length, 4);
  for (let n = 0; n < 10; n++) {
    assert.ok(r.started.length - n <= 4, `${r.started.length - n} reads held`);
    r.finish(n);
    await small[n]!.take();
  }
  assert.equal(r.started.length, 10);
  const huge = ahead.schedule(5000, r.read(99, 5000));
  assert.ok(r.started.includes(99), 'nothing held: the large one starts');
  const after = ahead.schedule(1, r.read(100, 1));
  assert.ok(!r.started.includes(100), 'nothing starts beside it');
  r.finish(99);
  await huge.take();
  assert.ok(r.started.includes(100));
  after.drop();
  assert.equal(ahead.octets, 0);
});

test('a failed read fails whoever takes it, and nobody else; a dropped one that never started never starts', async () => {
  const ahead = new ReadAhead({ maxOctets: 10, maxReads: 1 });
  let started = 0;
  const failing = ahead.schedule(1, async () => {
    started += 1;
    throw new Error('S3 said 500');
  });
  const dropped = ahead.schedule(1, async () => {
    started += 1;
    return Buffer.alloc(1);
  });
  dropped.drop();
  await assert.rejects(failing.take(), /500/);
  assert.equal(started, 1);
  assert.equal(ahead.octets, 0);
  ahead.stop();
  const late = ahead.schedule(1, async () => Buffer.from('x'));
  assert.deepEqual(await late.take(), Buffer.from('x'), 'after stop, a read is made when taken');
});
