// The task's body cache: bounded by bytes however many entries, least recently used out first,
// keyed by blob and range, and in front of a session's reads so a hit costs no read at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import type { BlobReads } from '../../core/blob-read-budget.ts';
import { BodyCache } from '../../core/body-cache.ts';

const bytes = (n: number, fill = 0x61) => Buffer.alloc(n, fill);

/** Blob reads that count what reaches them and can be held open until released. */
function countingReads() {
  const reads: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const blobs: BlobReads = {
    async getRange(key, start, end) {
      reads.push(`${key} ${start}-${end}`);
      await gate;
      return Buffer.from(`${key}:${start}-${end}`.padEnd(end - start, '.').slice(0, end - start), 'latin1');
    },
    async getStream(): Promise<Readable> {
      reads.push('stream');
      throw new Error('not in this test');
    },
  };
  return {
    blobs,
    reads,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
  };
}

test('filled far past its limit, it never holds more than maxBytes, and keeps the most recent', () => {
  const cache = new BodyCache({ maxBytes: 10_000, maxEntryBytes: 4_000 });
  for (let i = 0; i < 1000; i++) {
    cache.set(`k${i}`, 0, 1000 + (i % 7) * 300, bytes(1000 + (i % 7) * 300));
    assert.ok(cache.bytes <= 10_000, `held ${cache.bytes} bytes after ${i + 1} entries`);
  }
  assert.ok(cache.bytes > 10_000 - 4_000, 'it does fill up');
  assert.ok(cache.get('k999', 0, 1000 + (999 % 7) * 300), 'the last one is held');
  assert.equal(cache.get('k0', 0, 1000), undefined, 'the first one is gone');
});

test('least recently used goes first: a hit keeps an entry', () => {
  const cache = new BodyCache({ maxBytes: 3000, maxEntryBytes: 1000 });
  cache.set('a', 0, 1000, bytes(1000));
  cache.set('b', 0, 1000, bytes(1000));
  cache.set('c', 0, 1000, bytes(1000));
  assert.ok(cache.get('a', 0, 1000));
  cache.set('d', 0, 1000, bytes(1000));
  assert.equal(cache.get('b', 0, 1000), undefined, 'b was the least recently used');
  assert.ok(cache.get('a', 0, 1000) && cache.get('c', 0, 1000) && cache.get('d', 0, 1000));
  assert.equal(cache.bytes, 3000);
});

test('keyed by blob and range; a range above maxEntryBytes is not kept; replacing does not count twice', () => {
  const cache = new BodyCache({ maxBytes: 10_000, maxEntryBytes: 1000 });
  cache.set('a', 0, 10, bytes(10, 0x31));
  assert.equal(cache.get('a', 0, 11), undefined);
  assert.deepEqual(cache.get('a', 1, 10), bytes(9, 0x31), 'inside a range held from the start');
  cache.set('c', 5, 10, bytes(5));
  assert.equal(cache.get('c', 6, 10), undefined, 'inside a range held from elsewhere: not looked for');
  assert.equal(cache.get('b', 0, 10), undefined);
  assert.deepEqual(cache.get('a', 0, 10), bytes(10, 0x31));
  cache.set('big', 0, 1001, bytes(1001));
  assert.equal(cache.get('big', 0, 1001), undefined);
  cache.set('a', 0, 10, bytes(10, 0x32));
  assert.equal(cache.bytes, 15);
  assert.equal(cache.size, 2);
});

test('over(): a held range costs no read; concurrent misses of one range make one read; large ranges pass through', async () => {
  const cache = new BodyCache({ maxBytes: 100_000, maxEntryBytes: 1000 });
  const inner = countingReads();
  const one = cache.over(inner.blobs);
  const two = cache.over(inner.blobs);
  inner.hold();
  const [x, y] = [one.getRange('m', 0, 500), two.getRange('m', 0, 500)];
  inner.release();
  assert.deepEqual(await x, await y);
  assert.equal(inner.reads.length, 1, 'two sessions asking at once share a read');
  assert.deepEqual(await one.getRange('m', 0, 500), await x);
  assert.equal(inner.reads.length, 1, 'the second ask is a hit');
  const streamed = await two.getStream('m', { start: 0, end: 500 });
  const chunks: Buffer[] = [];
  for await (const chunk of streamed) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), await x, 'a stream of a held range comes from memory');
  assert.equal(inner.reads.length, 1);
  await one.getRange('m', 0, 5000);
  await one.getRange('m', 0, 5000);
  assert.equal(inner.reads.length, 3, 'a range above maxEntryBytes is read each time');
  assert.equal(cache.bytes, 500);
});

test('a failed read is not kept, and the next ask reads again', async () => {
  const cache = new BodyCache({ maxBytes: 1000, maxEntryBytes: 1000 });
  let calls = 0;
  const reads = cache.over({
    async getRange() {
      calls += 1;
      if (calls === 1) throw new Error('S3 said 503');
      return bytes(10);
    },
    getStream: async () => {
      throw new Error('unused');
    },
  });
  await assert.rejects(reads.getRange('k', 0, 10), /503/);
  assert.deepEqual(await reads.getRange('k', 0, 10), bytes(10));
  assert.equal(calls, 2);
});

test('a range inside one held from the blob\'s start is answered from it, until that one is evicted', async () => {
  const cache = new BodyCache({ maxBytes: 3_000, maxEntryBytes: 2_000 });
  const { blobs, reads } = countingReads();
  const session = cache.over(blobs);
  const whole = await session.getRange('m', 0, 1_500);
  assert.deepEqual(await session.getRange('m', 100, 400), whole.subarray(100, 400));
  assert.deepEqual(cache.get('m', 0, 1_500), whole);
  assert.deepEqual(reads, ['m 0-1500'], 'the header block, the text, a part: all inside the whole message');
  await session.getRange('m', 1_000, 1_600);
  assert.deepEqual(reads.at(-1), 'm 1000-1600', 'running past what is held: read');
  cache.set('other', 0, 2_000, bytes(2_000));
  assert.equal(cache.get('m', 0, 1_500), undefined, 'the least recently used went');
  await session.getRange('m', 100, 400);
  assert.deepEqual(reads.at(-1), 'm 100-400', 'and with it what it answered');
  assert.ok(cache.bytes <= 3_000);
});
