// A copy's header prefix served before the shared blob (core/header-prefix.ts): every range of
// the copy reads prefix + blob byte for byte, the MIME index moves with it, and only valid,
// bounded RFC 5322 field lines are ever made or served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { copyBytes, copyIndex, copyReads, headerPrefix, isHeaderPrefix, MAX_HEADER_PREFIX_OCTETS, prefixOctets } from '../../core/header-prefix.ts';
import { spamHeaderPrefix } from '../../core/junk/spam-header.ts';
import { indexMessage, sectionRange } from '../../core/mime/index.ts';

const blob = Buffer.from(
  'From: a@example.test\r\nSubject: hello\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b--\r\n',
);
const blobKey = 'raw/2026/12/05/x.eml';
const prefix = 'X-Spam-Flag: YES\r\nX-Spam-Score: 0.970 (mx.ours.test; classifier)\r\n';
const copy = { blobKey, index: indexMessage(blob), headerPrefix: prefix };
const whole = Buffer.concat([Buffer.from(prefix, 'latin1'), blob]);

/** A blob store that answers exactly what S3 would, and counts what it was asked. */
function store() {
  const asked: Array<[number, number]> = [];
  return {
    asked,
    getRange: async (key: string, start: number, end: number) => {
      assert.equal(key, blobKey);
      asked.push([start, end]);
      return blob.subarray(start, end);
    },
    getStream: async (key: string, range?: { start: number; end: number }) => {
      assert.equal(key, blobKey);
      return Readable.from([range ? blob.subarray(range.start, range.end) : blob]);
    },
  };
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('every range of the copy, inside the prefix, across its end and in the blob, is prefix + blob byte for byte', async () => {
  const reads = copyReads(store(), copy);
  const p = prefixOctets(copy);
  for (const [start, end] of [[0, whole.length], [0, 20], [5, p], [p - 3, p + 7], [p, p + 10], [p + 10, whole.length], [0, 0]] as const) {
    assert.deepEqual(await reads.getRange(blobKey, start, end), whole.subarray(start, end), `getRange ${start}-${end}`);
    assert.deepEqual(await drain(await reads.getStream(blobKey, { start, end })), whole.subarray(start, end), `getStream ${start}-${end}`);
  }
  assert.deepEqual(await drain(await reads.getStream(blobKey)), whole);
});

test('a range inside the prefix reads nothing from the store; one in the blob reads only its blob range', async () => {
  const blobs = store();
  const reads = copyReads(blobs, copy);
  await reads.getRange(blobKey, 0, 10);
  assert.deepEqual(blobs.asked, []);
  await reads.getRange(blobKey, prefixOctets(copy) + 4, prefixOctets(copy) + 9);
  assert.deepEqual(blobs.asked, [[4, 9]]);
});

test('the index moves with the prefix: sections of the copy are the same bytes as the blob\'s, the header and the whole grow by it', () => {
  const index = copyIndex(copy);
  const p = prefixOctets(copy);
  assert.equal(index.size, whole.length);
  const bytes = (idx: typeof index, source: Buffer, part: number[], kind: 'body' | 'header' | 'text' | 'mime') => {
    const range = sectionRange(idx, { part, kind })!;
    return source.subarray(range.start, range.end).toString('latin1');
  };
  for (const [part, kind] of [[[1], 'body'], [[1], 'mime'], [[2], 'body'], [[2], 'header'], [[2], 'text'], [[], 'text']] as const) {
    assert.equal(bytes(index, whole, [...part], kind), bytes(copy.index, blob, [...part], kind), `${part.join('.')} ${kind}`);
  }
  assert.equal(bytes(index, whole, [], 'header'), prefix + bytes(copy.index, blob, [], 'header'));
  assert.equal(bytes(index, whole, [], 'body'), whole.toString('latin1'));
  // BODYSTRUCTURE and ENVELOPE: sizes, lines and fields of parts are untouched.
  assert.deepEqual(index.envelope, copy.index.envelope);
  assert.equal(index.body.kind === 'multipart' && index.body.parts[0]!.kind === 'single' && index.body.parts[0]!.size, 'first part'.length);
  assert.equal(p, Buffer.byteLength(prefix));
});

test('items without a prefix, or with one that is not valid, are read as the blob itself', async () => {
  const blobs = store();
  assert.equal(copyReads(blobs, { blobKey }), blobs);
  assert.equal(copyIndex({ blobKey, index: copy.index }), copy.index);
  assert.equal(prefixOctets({ headerPrefix: 'no colon here\r\n' }), 0);
  assert.equal(copyBytes({ headerPrefix: null }, blob), blob);
  assert.deepEqual(copyBytes(copy, blob), whole);
});

test('a prefix is whole RFC 5322 field lines of printable US-ASCII, bounded in size', () => {
  assert.equal(headerPrefix([['X-A', 'one'], ['X-B', 'two\r\nInjected: yes\u00e9']]), 'X-A: one\r\nX-B: two  Injected: yes\r\n');
  assert.throws(() => headerPrefix([['Bad Name', 'x']]), RangeError);
  assert.throws(() => headerPrefix([['X-A:', 'x']]), RangeError);
  assert.throws(() => headerPrefix(Array.from({ length: 40 }, () => ['X-Long', 'y'.repeat(40)] as const)), RangeError);
  assert.equal(isHeaderPrefix('X-A: 1\r\n\r\n'), false, 'a blank line would end the header block');
  assert.equal(isHeaderPrefix(' folded\r\n'), false);
  assert.equal(isHeaderPrefix('X-A: 1'), false, 'a line without its CRLF');
  assert.equal(isHeaderPrefix(`X-A: ${'z'.repeat(MAX_HEADER_PREFIX_OCTETS)}\r\n`), false);
});

test('the junk header: X-Spam-Flag YES and the score naming our host, with reasons made safe for a comment', () => {
  const text = spamHeaderPrefix({ score: 0.96999, source: 'classifier', reasons: ['classifier 0.970 over 25 tokens', 'dmarc=fail (p=reject)', 'r\u00e9sum\u00e9\r\nX-Evil: 1'] }, 'mx.ours.test');
  assert.equal(
    text,
    'X-Spam-Flag: YES\r\nX-Spam-Score: 0.970 (mx.ours.test; classifier; classifier 0.970 over 25 tokens, dmarc=fail p=reject, r sum   X-Evil: 1)\r\n',
  );
  assert.ok(isHeaderPrefix(text));
  const long = spamHeaderPrefix({ score: 1, source: 'rules', reasons: Array.from({ length: 200 }, (_, i) => `reason number ${i}`) }, 'mx.ours.test');
  assert.ok(isHeaderPrefix(long) && long.length < 500, long);
});
