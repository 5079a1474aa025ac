// Section numbering (RFC 3501 §6.4.5) and the byte ranges FETCH BODY[...] reads.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPart, indexMessage, sectionRange, type SectionSpec } from '../../../core/mime/index.ts';
import { bodyOf, fixture, slice } from './helpers.ts';

const torture = fixture('torture.eml');
const tortureIndex = indexMessage(torture);
const simple = fixture('simple.eml');
const simpleIndex = indexMessage(simple);

function read(raw: Buffer, index: ReturnType<typeof indexMessage>, spec: SectionSpec): string | null {
  const range = sectionRange(index, spec);
  return range && slice(raw, range.start, range.end);
}

describe('findPart', () => {
  const body = tortureIndex.body;
  const bodyAt = (path: number[]): string | null => {
    const part = findPart(body, path);
    return part && bodyOf(torture, part);
  };

  it('numbers the parts of a multipart from 1', () => {
    assert.equal(bodyAt([1]), 'a part with an empty header');
    assert.equal(bodyAt([2]), 'a part with no header at all');
    assert.equal(findPart(body, [3])?.subtype, 'digest');
    assert.equal(bodyAt([3, 2]), 'not a message');
  });

  it('numbers the body of an encapsulated non-multipart message as its part 1', () => {
    assert.equal(bodyAt([4, 1]), 'inner text');
    assert.equal(bodyAt([3, 1, 1]), 'entry one');
    assert.equal(findPart(body, [4, 2]), null);
  });

  it('numbers the children of an encapsulated multipart directly (RFC 3501 §6.4.5 example 4.2.2.1)', () => {
    const nested = indexMessage(fixture('nested-rfc822.eml'));
    const raw = fixture('nested-rfc822.eml');
    assert.equal(bodyOf(raw, findPart(nested.body, [2, 1])!), 'Hi');
    assert.equal(bodyOf(raw, findPart(nested.body, [2, 2])!), '<b>Hi</b>');
    assert.equal(findPart(nested.body, [2, 3]), null);
  });

  it('treats the body of a non-multipart message as part 1 and nothing else', () => {
    assert.equal(findPart(simpleIndex.body, [1]), simpleIndex.body);
    assert.equal(findPart(simpleIndex.body, [2]), null);
    assert.equal(findPart(simpleIndex.body, [1, 1]), null);
  });

  it('rejects numbers that are not positive integers, and parts with no sub-parts', () => {
    assert.equal(findPart(body, [0]), null);
    assert.equal(findPart(body, [1.5]), null);
    assert.equal(findPart(body, [8]), null);
    assert.equal(findPart(body, [1, 1]), null);
    assert.equal(findPart(body, [7, 1]), null, 'an encoded message/rfc822 has no parts');
    assert.equal(findPart(body, []), body);
  });
});

describe('sectionRange', () => {
  it('BODY[], BODY[HEADER] and BODY[TEXT] of the message', () => {
    assert.equal(read(simple, simpleIndex, { part: [], kind: 'body' }), simple.toString('latin1'));
    const header = read(simple, simpleIndex, { part: [], kind: 'header' })!;
    assert.ok(header.startsWith('From: Alice Example') && header.endsWith('>\r\n\r\n'));
    assert.equal(read(simple, simpleIndex, { part: [], kind: 'text' }), 'Are we still on for noon?\r\n-- \r\nAlice\r\n');
    assert.equal(sectionRange(simpleIndex, { part: [], kind: 'mime' }), null);
  });

  it('BODY[1] and BODY[1.MIME] of a non-multipart message are its body and header', () => {
    assert.equal(read(simple, simpleIndex, { part: [1], kind: 'body' }), 'Are we still on for noon?\r\n-- \r\nAlice\r\n');
    assert.ok(read(simple, simpleIndex, { part: [1], kind: 'mime' })!.startsWith('From: Alice'));
  });

  it('BODY[n], BODY[n.MIME], BODY[n.HEADER], BODY[n.TEXT] of a message/rfc822 part', () => {
    const spec = (kind: SectionSpec['kind']): SectionSpec => ({ part: [4], kind });
    assert.equal(read(torture, tortureIndex, spec('body')), 'Subject: simple inner\r\n\r\ninner text');
    assert.equal(read(torture, tortureIndex, spec('mime')), 'Content-Type: message/rfc822\r\n\r\n');
    assert.equal(read(torture, tortureIndex, spec('header')), 'Subject: simple inner\r\n\r\n');
    assert.equal(read(torture, tortureIndex, spec('text')), 'inner text');
  });

  it('HEADER and TEXT exist only for message/rfc822 parts', () => {
    assert.equal(sectionRange(tortureIndex, { part: [1], kind: 'header' }), null);
    assert.equal(sectionRange(tortureIndex, { part: [7], kind: 'text' }), null);
    assert.equal(sectionRange(tortureIndex, { part: [9], kind: 'body' }), null);
  });

  it('BODY[3.2.MIME] is the MIME header of a nested part', () => {
    assert.equal(read(torture, tortureIndex, { part: [3, 2], kind: 'mime' }), 'Content-Type: text/plain\r\n\r\n');
    assert.equal(read(torture, tortureIndex, { part: [2], kind: 'mime' }), '');
  });
});
