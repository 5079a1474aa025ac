// Known messages with hand-checked structures and byte offsets: every offset is checked
// both as a number and by the exact bytes it slices out of the fixture.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexMessage } from '../../../core/mime/index.ts';
import { asMultipart, asSingle, bodyOf, fixture, headerOf } from './helpers.ts';

describe('simple text message', () => {
  const raw = fixture('simple.eml');
  const index = indexMessage(raw);

  it('is one text/plain part with the RFC 2045 §5.2 default charset', () => {
    const body = asSingle(index.body);
    assert.equal(index.fallback, false);
    assert.equal(index.size, 192);
    assert.deepEqual([body.type, body.subtype, body.params], ['text', 'plain', [['charset', 'us-ascii']]]);
    assert.equal(body.encoding, '7BIT');
  });

  it('has offsets that slice out the header (with its blank line) and the body', () => {
    const body = index.body;
    assert.deepEqual(body.offsets, { headerStart: 0, bodyStart: 153, end: 192 });
    assert.ok(headerOf(raw, body).endsWith('Message-ID: <lunch-1@example.com>\r\n\r\n'));
    assert.equal(bodyOf(raw, body), 'Are we still on for noon?\r\n-- \r\nAlice\r\n');
    assert.equal(asSingle(body).size, 39);
    assert.equal(asSingle(body).lines, 3);
  });

  it('has an envelope with sender and reply-to defaulting to from (RFC 3501 §7.4.2)', () => {
    const alice = [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.com' }];
    assert.deepEqual(index.envelope, {
      date: 'Tue, 3 Nov 2026 10:00:00 +0000',
      subject: 'Lunch',
      from: alice,
      sender: alice,
      replyTo: alice,
      to: [{ name: null, adl: null, mailbox: 'bob', host: 'example.org' }],
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: '<lunch-1@example.com>',
    });
  });
});

describe('multipart/alternative', () => {
  const raw = fixture('alternative.eml');
  const root = asMultipart(indexMessage(raw).body);

  it('leaves the preamble and epilogue out of the parts', () => {
    assert.equal(root.subtype, 'alternative');
    assert.deepEqual(root.params, [['boundary', 'alt-1']]);
    assert.equal(root.parts.length, 2);
    assert.deepEqual(root.offsets, { headerStart: 0, bodyStart: 143, end: 379 });
  });

  it('ends each part before the CRLF that belongs to the next boundary (RFC 2046 §5.1.1)', () => {
    const [plain, html] = root.parts.map(asSingle);
    assert.deepEqual(plain!.offsets, { headerStart: 198, bodyStart: 286, end: 301 });
    assert.equal(headerOf(raw, plain!), 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
    assert.equal(bodyOf(raw, plain!), 'Hello =E2=9C=93');
    assert.equal(plain!.encoding, 'quoted-printable');
    assert.deepEqual([plain!.size, plain!.lines], [15, 1]);
    assert.deepEqual(html!.offsets, { headerStart: 312, bodyStart: 354, end: 366 });
    assert.equal(bodyOf(raw, html!), '<p>Hello</p>');
    assert.equal(html!.subtype, 'html');
  });
});

describe('multipart/mixed with a base64 attachment', () => {
  const raw = fixture('mixed-attachment.eml');
  const root = asMultipart(indexMessage(raw).body);
  const text = asSingle(root.parts[0]);
  const pdf = asSingle(root.parts[1]);

  it('finds a boundary given in a folded Content-Type', () => {
    assert.deepEqual(root.params, [['boundary', '----=_Part_0_1']]);
    assert.equal(root.parts.length, 2);
    assert.deepEqual(text.offsets, { headerStart: 162, bodyStart: 208, end: 221 });
    assert.equal(bodyOf(raw, text), 'See attached.');
  });

  it('has every BODYSTRUCTURE extension field of the attachment', () => {
    assert.deepEqual(pdf.offsets, { headerStart: 241, bodyStart: 582, end: 1296 });
    assert.deepEqual([pdf.type, pdf.subtype, pdf.params], ['application', 'pdf', [['name', 'report.pdf']]]);
    assert.deepEqual(pdf.disposition, { type: 'attachment', params: [['filename', 'report.pdf'], ['size', '521']] });
    assert.equal(pdf.id, '<report@example.com>');
    assert.equal(pdf.description, 'Quarterly report');
    assert.equal(pdf.md5, 'Q2hlY2sgSW50ZWdyaXR5IQ==');
    assert.deepEqual(pdf.language, ['en', 'de']);
    assert.equal(pdf.location, 'https://example.com/report.pdf');
    assert.equal(pdf.encoding, 'base64');
    assert.equal(pdf.lines, null, 'lines only for text/* and message/rfc822');
    assert.equal(pdf.size, 714);
  });

  it('slices out exactly the base64 text, which decodes to the original bytes', () => {
    const decoded = Buffer.from(bodyOf(raw, pdf), 'base64');
    assert.equal(decoded.subarray(0, 9).toString(), '%PDF-1.4\n');
    assert.equal(decoded.length, 9 + 512);
    assert.ok(!bodyOf(raw, pdf).endsWith('\r\n'));
  });
});

describe('nested message/rfc822', () => {
  const raw = fixture('nested-rfc822.eml');
  const root = asMultipart(indexMessage(raw).body);
  const forwarded = asSingle(root.parts[1]);

  it('has the encapsulated message with its own envelope', () => {
    assert.deepEqual([forwarded.type, forwarded.subtype], ['message', 'rfc822']);
    assert.equal(forwarded.description, 'forwarded message');
    assert.deepEqual(forwarded.offsets, { headerStart: 204, bodyStart: 276, end: 516 });
    assert.equal(forwarded.lines, 14);
    const message = forwarded.message!;
    assert.equal(message.envelope.subject, 'Newsletter');
    assert.equal(message.envelope.messageId, '<news@example.com>');
    assert.deepEqual(message.envelope.from, [{ name: 'Alice', adl: null, mailbox: 'alice', host: 'example.com' }]);
  });

  it('has the encapsulated body starting where the rfc822 part body starts', () => {
    const inner = asMultipart(forwarded.message!.body);
    assert.deepEqual(inner.offsets, { headerStart: 276, bodyStart: 417, end: 516 });
    assert.ok(headerOf(raw, inner).startsWith('From: Alice <alice@example.com>\r\n'));
    const [plain, html] = inner.parts;
    assert.deepEqual(plain!.offsets, { headerStart: 426, bodyStart: 454, end: 456 });
    assert.equal(bodyOf(raw, plain!), 'Hi');
    assert.deepEqual(html!.offsets, { headerStart: 467, bodyStart: 494, end: 503 });
    assert.equal(bodyOf(raw, html!), '<b>Hi</b>');
    // A part with Content-Type but no charset keeps exactly the parameters it was given.
    assert.deepEqual(plain!.params, []);
  });
});

describe('RFC 2231 parameters', () => {
  const raw = fixture('rfc2231.eml');
  const root = asMultipart(indexMessage(raw).body);

  it('joins continuations and decodes charset and percent escapes (RFC 2231 §3, §4)', () => {
    const stuff = asSingle(root.parts[0]);
    assert.deepEqual(stuff.params, [['title', "This is even more ***fun*** isn't it!"]]);
    assert.deepEqual(stuff.disposition, { type: 'attachment', params: [['filename', 'Müller Bericht.txt']] });
    assert.equal(bodyOf(raw, stuff), 'stuff');
  });

  it('drops comments, and prefers the RFC 2231 form over a plain duplicate', () => {
    const text = asSingle(root.parts[1]);
    assert.deepEqual(text.params, [['charset', 'utf-8'], ['format', 'flowed']]);
    assert.deepEqual(text.disposition, { type: 'inline', params: [['filename', 'longname.txt']] });
  });
});

describe('address groups and encoded words', () => {
  const envelope = indexMessage(fixture('groups.eml')).envelope;

  it('leaves encoded words raw and unfolds the subject', () => {
    assert.equal(envelope.subject, '=?iso-8859-1?Q?Gr=FC=DFe?= from the team');
    assert.equal(envelope.from![0]!.name, '=?utf-8?B?w4RsaWNl?=');
  });

  it('marks groups with a host of NIL: start with the name, end all NIL (RFC 3501 §7.4.2)', () => {
    assert.deepEqual(envelope.to, [
      { name: null, adl: null, mailbox: 'A Group', host: null },
      { name: 'Doe, John', adl: null, mailbox: 'john', host: 'example.com' },
      { name: null, adl: null, mailbox: 'jane', host: 'example.com' },
      { name: null, adl: null, mailbox: null, host: null },
      { name: null, adl: null, mailbox: 'undisclosed-recipients', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
    assert.deepEqual(envelope.bcc, [
      { name: null, adl: null, mailbox: 'Team', host: null },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
  });

  it('keeps quoted local parts, source routes as adl, a trailing comment as the name, and marks a missing domain', () => {
    assert.deepEqual(envelope.cc, [
      { name: 'comment', adl: null, mailbox: '"quoted local"', host: 'example.com' },
      { name: null, adl: '@relay1,@relay2', mailbox: 'route', host: 'example.com' },
      { name: null, adl: null, mailbox: 'root', host: '.MISSING-HOST-NAME.' },
    ]);
  });

  it('takes sender as given, and reply-to from "from" when present but empty', () => {
    assert.deepEqual(envelope.sender, [{ name: null, adl: null, mailbox: 'secretary', host: 'example.com' }]);
    assert.deepEqual(envelope.replyTo, envelope.from);
    assert.equal(envelope.inReplyTo, '<prev@example.com>');
  });
});

describe('old-style display names in comments (RFC 822 §6.1, RFC 5322 §4.4)', () => {
  const envelope = indexMessage(fixture('comments.eml')).envelope;

  it('takes the comment after an address without a display name as addr-name, not one before it', () => {
    assert.deepEqual(envelope.from, [{ name: 'Real Name', adl: null, mailbox: 'user', host: 'example.com' }]);
    assert.deepEqual(envelope.cc, [
      { name: 'Two Names', adl: null, mailbox: 'two', host: 'example.org' },
      { name: 'Three', adl: null, mailbox: 'three', host: 'example.org' },
      { name: null, adl: null, mailbox: 'four', host: 'example.org' },
    ]);
  });

  it('reads an addr-spec with comments between its parts', () => {
    assert.deepEqual(envelope.to, [{ name: null, adl: null, mailbox: 'user-from', host: 'domain.org' }]);
  });
});
