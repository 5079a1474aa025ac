// A MIME torture message written for this indexer: boundary look-alikes, parts without
// headers, digest defaults, an unterminated inner multipart, LWSP after delimiters and an
// encoded message/rfc822. Every part is checked by the bytes its offsets slice out.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexMessage, type BodyPart } from '../../../core/mime/index.ts';
import { asMultipart, asSingle, bodyOf, fixture, headerOf } from './helpers.ts';

const raw = fixture('torture.eml');
const index = indexMessage(raw);
const root = asMultipart(index.body);

/** A readable outline: type, header bytes and body bytes of each part, nested. */
function outline(part: BodyPart): unknown {
  const base = { type: `${part.type}/${part.subtype}`, header: headerOf(raw, part), body: bodyOf(raw, part) };
  if (part.kind === 'multipart') return { type: base.type, parts: part.parts.map(outline) };
  return part.message ? { type: base.type, header: base.header, message: outline(part.message.body) } : base;
}

describe('MIME torture message', () => {
  it('lowercases the media type and finds all seven parts', () => {
    assert.deepEqual([root.type, root.subtype], ['multipart', 'mixed']);
    assert.equal(root.parts.length, 7);
    assert.equal(index.fallback, false);
  });

  it('has exactly the expected parts, bytes and nesting', () => {
    assert.deepEqual(root.parts.map(outline), [
      // A blank line right after the boundary: an empty header, then the body.
      { type: 'text/plain', header: '\r\n', body: 'a part with an empty header' },
      // Content right after the boundary: no header at all, headerStart = bodyStart.
      { type: 'text/plain', header: '', body: 'a part with no header at all' },
      // "--t1  \t": transport padding after the delimiter is allowed (RFC 2046 §5.1.1).
      {
        type: 'multipart/digest',
        parts: [
          // RFC 2046 §5.1.5: parts of a digest default to message/rfc822.
          { type: 'message/rfc822', header: '\r\n', message: { type: 'text/plain', header: 'Subject: digest entry one\r\n\r\n', body: 'entry one' } },
          { type: 'text/plain', header: 'Content-Type: text/plain\r\n\r\n', body: 'not a message' },
        ],
      },
      { type: 'message/rfc822', header: 'Content-Type: message/rfc822\r\n\r\n', message: { type: 'text/plain', header: 'Subject: simple inner\r\n\r\n', body: 'inner text' } },
      // Two delimiters in a row: an empty part.
      { type: 'text/plain', header: '', body: '' },
      // The inner multipart never closes; the outer delimiter ends it.
      {
        type: 'multipart/alternative',
        parts: [{ type: 'text/plain', header: 'Content-Type: text/plain\r\n\r\n', body: 'the inner close delimiter never comes' }],
      },
      {
        type: 'message/rfc822',
        header: 'Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        body: 'U3ViamVjdDogeAoKeQo=',
      },
    ]);
  });

  it('does not take boundary look-alikes in the preamble or anything in the epilogue', () => {
    assert.deepEqual(root.parts[0]!.offsets, { headerStart: 246, bodyStart: 248, end: 275 });
    assert.ok(raw.toString('latin1', root.offsets.bodyStart, 246).includes('--t1x is not a boundary'));
    const last = root.parts[6]!;
    assert.deepEqual(last.offsets, { headerStart: 708, bodyStart: 775, end: 795 });
    assert.equal(root.offsets.end, raw.length);
  });

  it('leaves an encoded message/rfc822 unexpanded (RFC 2046 §5.2.1 forbids the encoding)', () => {
    const encoded = asSingle(root.parts[6]);
    assert.equal(encoded.message, undefined);
    assert.equal(encoded.encoding, 'base64');
  });

  it('counts lines of message/rfc822 parts over the whole encapsulated message', () => {
    assert.equal(asSingle(root.parts[3]).lines, 3);
    assert.equal(asSingle(root.parts[4]).lines, 0);
  });
});
