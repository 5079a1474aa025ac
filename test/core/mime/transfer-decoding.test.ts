// Content-transfer-decoding for BINARY (RFC 2045 §6.7, §6.8) and the base64 layout the indexer
// records: a decoded range read through base64Window must equal the same range of the whole decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { base64Window, decodeQuotedPrintable, decodedLayout } from '../../../core/mime/transfer-decoding.ts';

const lines = (data: Buffer, width: number) => (data.toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\r\n');

test('quoted-printable: =XX, soft breaks, trailing white space dropped, a stray "=" kept (RFC 2045 §6.7)', () => {
  const decoded = decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc  \r\nd=e9 =ZZ=\r\n\r\nend='));
  assert.equal(decoded.toString('latin1'), 'a=bc\r\nd\xe9 =ZZ\r\nend');
});

test('regular base64 is recorded with its line length; every window decodes to the same bytes as the whole', () => {
  const data = randomBytes(10_000);
  for (const [width, tail] of [[76, ''], [76, '\r\n'], [64, '\r\n'], [4, '']] as const) {
    const raw = Buffer.from(lines(data, width) + tail);
    const layout = decodedLayout(raw, 0, raw.length, 'BASE64');
    assert.deepEqual(layout, { size: data.length, base64Line: width });
    for (const [offset, length] of [[0, 1], [56, 2], [57, 57], [5000, 4321], [9990, 100]] as const) {
      const want = Math.min(length, data.length - offset);
      const w = base64Window(width, raw.length, offset, want);
      const got = Buffer.from(raw.subarray(w.start, w.end).toString('latin1'), 'base64').subarray(w.skip, w.skip + want);
      assert.ok(got.equals(data.subarray(offset, offset + want)), `width ${width} range ${offset}.${length}`);
    }
  }
});

test('irregular base64 (a short line in the middle, bare LF, white space) is decoded but not given a line length', () => {
  const data = randomBytes(300);
  const text = lines(data, 76);
  const irregular = [text.replace('\r\n', '\r\n\r\n'), text.replaceAll('\r\n', '\n'), text.replace('\r\n', ' \r\n')];
  for (const body of irregular) {
    const raw = Buffer.from(body);
    assert.deepEqual(decodedLayout(raw, 0, raw.length, 'base64'), { size: data.length, base64Line: null }, JSON.stringify(body.slice(0, 90)));
  }
  assert.equal(decodedLayout(Buffer.from('x'), 0, 1, 'x-uuencode'), null);
  assert.deepEqual(decodedLayout(Buffer.from('abc'), 0, 3, '8bit'), { size: 3, base64Line: null });
});
