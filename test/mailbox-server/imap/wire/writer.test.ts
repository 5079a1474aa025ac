// Response serialisation (RFC 3501 §7, §7.4.2): strings, lists, status lines, ENVELOPE and BODYSTRUCTURE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  atom, bodyNonExtensibleValue, bodyStructureValue, continuation, encodeString, envelopeValue, Literal, serialize, statusLine, untagged, withoutNul,
} from '../../../../mailbox-server/imap/wire/writer.ts';
import type { BodyPart, Envelope, SinglePart } from '../../../../core/mime/types.ts';

const offsets = { headerStart: 0, bodyStart: 0, end: 0 };
const text = (overrides: Partial<SinglePart>): SinglePart => ({
  kind: 'single', offsets, type: 'TEXT', subtype: 'PLAIN', params: [['CHARSET', 'US-ASCII']], disposition: null, language: null, location: null,
  id: null, description: null, encoding: '7BIT', size: 0, lines: 0, md5: null, ...overrides,
});

test('strings: quoted when safe, literal for 8-bit, CR, LF, quote, backslash, NUL and long text', () => {
  assert.equal(encodeString('hello world').toString(), '"hello world"');
  assert.equal(encodeString('').toString(), '""');
  assert.equal(encodeString('café').toString(), '{5}\r\ncafé');
  for (const s of ['a"b', 'a\\b', 'a\r\nb', 'a\x00b']) assert.match(encodeString(s).toString(), /^\{\d+\}\r\n/);
  assert.match(encodeString('x'.repeat(2000)).toString(), /^\{2000\}\r\n/);
});

test('values, lists and response lines', () => {
  assert.equal(serialize([atom('\\Seen'), null, 42, 7n, 'x', new Literal(Buffer.from('ab'))]).toString(), '(\\Seen NIL 42 7 "x" {2}\r\nab)');
  assert.equal(untagged(172, atom('EXISTS')).toString(), '* 172 EXISTS\r\n');
  assert.equal(untagged(atom('FLAGS'), [atom('\\Answered'), atom('\\Seen')]).toString(), '* FLAGS (\\Answered \\Seen)\r\n');
  assert.equal(statusLine('A142', 'OK', 'SELECT completed', 'READ-WRITE').toString(), 'A142 OK [READ-WRITE] SELECT completed\r\n');
  assert.equal(statusLine(null, 'BAD', 'bad\r\n* OK injected').toString(), '* BAD bad * OK injected\r\n');
  assert.equal(continuation().toString(), '+ Ready for literal data\r\n');
});

test('RFC 3501 §7.4.2 ENVELOPE, with Sender and Reply-To defaulting to From', () => {
  const envelope: Envelope = {
    date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)', subject: 'IMAP4rev1 WG mtg summary and minutes',
    from: [{ name: 'Terry Gray', adl: null, mailbox: 'gray', host: 'cac.washington.edu' }], sender: null, replyTo: [],
    to: [{ name: null, adl: null, mailbox: 'imap', host: 'cac.washington.edu' }],
    cc: [{ name: null, adl: null, mailbox: 'minutes', host: 'CNRI.Reston.VA.US' }, { name: 'John Klensin', adl: null, mailbox: 'KLENSIN', host: 'MIT.EDU' }],
    bcc: null, inReplyTo: null, messageId: '<B27397-0100000@cac.washington.edu>',
  };
  assert.equal(
    serialize(envelopeValue(envelope)).toString(),
    '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
      '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")',
  );
});

test('RFC 3501 §7.4.2 BODY example: multipart/mixed of two text parts', () => {
  const body: BodyPart = {
    kind: 'multipart', offsets, type: 'MULTIPART', subtype: 'MIXED', params: [['BOUNDARY', 'x']], disposition: null, language: null, location: null,
    parts: [
      text({ size: 1152, lines: 23 }),
      text({ params: [['CHARSET', 'US-ASCII'], ['NAME', 'cc.diff']], id: '<960723163407.20117h@cac.washington.edu>', description: 'Compiler diff', encoding: 'base64', size: 4554, lines: 73 }),
    ],
  };
  assert.equal(
    serialize(bodyNonExtensibleValue(body)).toString(),
    '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ' +
      '"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")',
  );
  assert.equal(
    serialize(bodyStructureValue(body)).toString(),
    '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ' +
      '"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "x") NIL NIL NIL)',
  );
});

test('BODYSTRUCTURE extension data: md5, disposition, language, location; message/rfc822 nests envelope and body', () => {
  const inner: Envelope = { date: null, subject: 'inner', from: null, sender: null, replyTo: null, to: null, cc: null, bcc: null, inReplyTo: null, messageId: null };
  const attachment = text({ type: 'application', subtype: 'pdf', params: [], encoding: 'base64', size: 10, lines: null, md5: 'Q2hlY2s=', disposition: { type: 'attachment', params: [['filename', 'a.pdf']] }, language: ['en', 'fr'], location: 'http://x/a.pdf' });
  const rfc822 = text({ type: 'message', subtype: 'rfc822', params: [], size: 30, lines: 2, language: ['de'], message: { envelope: inner, body: text({ size: 5, lines: 1 }) } });
  assert.equal(
    serialize(bodyStructureValue(attachment)).toString(),
    '("application" "pdf" NIL NIL NIL "BASE64" 10 "Q2hlY2s=" ("attachment" ("filename" "a.pdf")) ("en" "fr") "http://x/a.pdf")',
  );
  assert.equal(
    serialize(bodyStructureValue(rfc822)).toString(),
    '("message" "rfc822" NIL NIL NIL "7BIT" 30 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ' +
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL) 2 NIL NIL "de" NIL)',
  );
  const empty: BodyPart = { kind: 'multipart', offsets, type: 'multipart', subtype: 'mixed', params: [], disposition: null, language: null, location: null, parts: [] };
  assert.equal(serialize(bodyNonExtensibleValue(empty)).toString(), '(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) "mixed")');
});

test('RFC 3501 §9 CHAR8: no NUL inside a literal; each becomes 0x80 and the count stays', () => {
  assert.deepEqual(serialize(new Literal(Buffer.from('a\0b\0', 'latin1'))), Buffer.from('{4}\r\na\x80b\x80', 'latin1'));
  assert.deepEqual(encodeString(Buffer.from('x\0y', 'latin1')), Buffer.from('{3}\r\nx\x80y', 'latin1'));
  const clean = Buffer.from('no nul here');
  assert.equal(withoutNul(clean), clean, 'no copy when there is nothing to replace');
  const dirty = Buffer.from([0, 1, 0]);
  assert.deepEqual(withoutNul(dirty), Buffer.from([0x80, 1, 0x80]));
  assert.deepEqual(dirty, Buffer.from([0, 1, 0]), 'the input is not changed');
});
