// Hostile and broken input: the indexer must answer with a usable, bounded index every
// time — no exception, no hang, nothing past the end of the blob, and a stored form that
// fits one DynamoDB item.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DEPTH, MAX_PARTS, fallbackIndex, indexMessage, type BodyPart, type MessageIndex } from '../../../core/mime/index.ts';
import { allParts, asMultipart, asSingle, bodyOf, crlf, headerOf } from './helpers.ts';

/** Structural sanity every index must have, whatever the input. */
function assertWellFormed(index: MessageIndex, raw: Buffer): void {
  assert.equal(index.size, raw.length);
  assert.deepEqual(index.body.offsets.headerStart, 0);
  assert.equal(index.body.offsets.end, raw.length);
  const check = (part: BodyPart, start: number, end: number): void => {
    const { headerStart, bodyStart, end: partEnd } = part.offsets;
    assert.ok(start <= headerStart && headerStart <= bodyStart && bodyStart <= partEnd && partEnd <= end, `offsets ${JSON.stringify(part.offsets)} within [${start}, ${end})`);
    if (part.kind === 'multipart') {
      assert.ok(part.parts.length >= 1, 'a multipart has at least one part');
      let previous = bodyStart;
      for (const child of part.parts) {
        assert.ok(child.offsets.headerStart >= previous, 'parts are in order and do not overlap');
        check(child, bodyStart, partEnd);
        previous = child.offsets.end;
      }
    } else {
      assert.equal(part.size, partEnd - bodyStart);
      if (part.message) check(part.message.body, bodyStart, partEnd);
    }
  };
  check(index.body, 0, raw.length);
  assert.ok(JSON.stringify(index).length < 300 * 1024);
}

function indexWellFormed(raw: Buffer): MessageIndex {
  const index = indexMessage(raw);
  assertWellFormed(index, raw);
  return index;
}

describe('broken multipart structure', () => {
  it('a multipart without a boundary parameter exposes its body as one text/plain part', () => {
    const raw = crlf('Content-Type: multipart/mixed', '', 'just text');
    const root = asMultipart(indexWellFormed(raw).body);
    assert.equal(root.parts.length, 1);
    const only = asSingle(root.parts[0]);
    assert.deepEqual([only.type, only.subtype], ['text', 'plain']);
    assert.equal(bodyOf(raw, only), 'just text');
  });

  it('a boundary that never appears gives the same single part', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=nowhere', '', 'text', '--elsewhere', 'more');
    const root = asMultipart(indexWellFormed(raw).body);
    assert.equal(root.parts.length, 1);
    assert.equal(bodyOf(raw, root.parts[0]!), 'text\r\n--elsewhere\r\nmore');
  });

  it('an unterminated multipart runs its last part to the end of the message', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', '--b', '', 'two, cut off');
    const root = asMultipart(indexWellFormed(raw).body);
    assert.deepEqual(root.parts.map((part) => bodyOf(raw, part)), ['one', 'two, cut off']);
  });

  it('an empty boundary parameter is no boundary', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=""', '', '--', '', 'x', '----');
    assert.equal(asMultipart(indexWellFormed(raw).body).parts.length, 1);
  });

  it('an invalid Content-Type falls back to text/plain (RFC 2045 §5.2)', () => {
    for (const value of ['', 'garbage', '/plain', 'text/', 'text/pl@in', 'text/plain/extra', '"']) {
      const body = asSingle(indexWellFormed(crlf(`Content-Type: ${value}`, '', 'x')).body);
      assert.deepEqual([body.type, body.subtype], ['text', 'plain'], value);
    }
  });
});

describe('nesting and part count limits', () => {
  it(`caps multipart nesting at ${MAX_DEPTH} and keeps deeper ones as opaque parts`, () => {
    const levels = 200;
    let text = '';
    for (let i = 0; i < levels; i++) text += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
    text += 'Content-Type: text/plain\r\n\r\ndeepest';
    const raw = Buffer.from(text);
    const index = indexWellFormed(raw);
    let part: BodyPart = index.body;
    let depth = 0;
    while (part.kind === 'multipart') {
      part = part.parts[0]!;
      depth++;
    }
    assert.equal(depth, MAX_DEPTH);
    assert.deepEqual([part.type, part.subtype], ['application', 'octet-stream']);
    assert.ok(bodyOf(raw, part).endsWith('deepest'));
  });

  it('caps nesting of message/rfc822 too', () => {
    const raw = Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(500) + 'Subject: bottom\r\n\r\nx');
    const index = indexWellFormed(raw);
    let depth = 0;
    let part: BodyPart = index.body;
    while (part.kind === 'single' && part.message) {
      part = part.message.body;
      depth++;
    }
    assert.ok(depth > 0 && depth <= MAX_DEPTH, `depth ${depth}`);
  });

  it(`indexes at most ${MAX_PARTS} parts`, () => {
    const raw = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\nx\r\n'.repeat(50_000) + '--b--\r\n');
    const index = indexWellFormed(raw);
    const count = allParts(index.body).length;
    assert.ok(count <= MAX_PARTS && count >= 500, `${count} parts`);
  });

  it('keeps the stored index under 300 KB for a worst case built to bloat it', () => {
    // Every string the index keeps is long and full of characters JSON must escape.
    const nasty = '\x01"\\'.repeat(330);
    const params = Array.from({ length: 40 }, (_, i) => `p${i}="${nasty}"`).join(';\r\n ');
    const addresses = Array.from({ length: 150 }, (_, i) => `"${nasty.slice(0, 60)}" <u${i}${nasty.slice(0, 30)}@h${i}.example>`).join(', ');
    const envelope = ['From', 'Sender', 'Reply-To', 'To', 'Cc', 'Bcc'].map((name) => `${name}: ${addresses}`).join('\r\n')
      + `\r\nSubject: ${nasty}\r\nDate: ${nasty}\r\nMessage-ID: ${nasty}\r\nIn-Reply-To: ${nasty}`;
    const partHeader = `Content-Type: text/plain; ${params}\r\nContent-Disposition: attachment; ${params}\r\n`
      + `Content-ID: ${nasty}\r\nContent-Description: ${nasty}\r\nContent-Location: ${nasty}\r\nContent-MD5: ${nasty}\r\n`
      + `Content-Language: ${'en, '.repeat(200)}\r\nContent-Transfer-Encoding: ${nasty}`;
    const parts: string[] = [];
    for (let i = 0; i < 2500; i++) {
      if (i % 25 === 0) parts.push(`--b\r\nContent-Type: message/rfc822\r\n\r\n${envelope}\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n${partHeader}\r\n\r\nx\r\n--c--`);
      else parts.push(`--b\r\n${partHeader}\r\n\r\nbody ${i}`);
    }
    const raw = Buffer.from(`${envelope}\r\nContent-Type: multipart/mixed; boundary=b; ${params}\r\n\r\n${parts.join('\r\n')}\r\n--b--\r\n`);
    const index = indexWellFormed(raw);
    const size = JSON.stringify(index).length;
    assert.ok(size < 300 * 1024, `${size} bytes`);
    assert.ok(asMultipart(index.body).parts.length >= 50, 'the budget still admits many lean parts');
  });
});

describe('odd header blocks', () => {
  it('a header without a body: the body is empty and at the end', () => {
    const raw = Buffer.from('Subject: only a header\r\nFrom: a@example.com');
    const index = indexWellFormed(raw);
    assert.deepEqual(index.body.offsets, { headerStart: 0, bodyStart: raw.length, end: raw.length });
    assert.equal(index.envelope.subject, 'only a header');
    assert.equal(asSingle(index.body).lines, 0);
  });

  it('a message starting with a blank line has an empty header', () => {
    const raw = Buffer.from('\r\nbody only');
    const index = indexWellFormed(raw);
    assert.deepEqual(index.body.offsets, { headerStart: 0, bodyStart: 2, end: raw.length });
    assert.equal(index.envelope.from, null);
  });

  it('a message whose first line is no header field has no header at all', () => {
    const raw = Buffer.from('This is not: a header\r\nSubject: nor this\r\n\r\nx');
    const index = indexWellFormed(raw);
    assert.equal(index.body.offsets.bodyStart, 0);
    assert.equal(index.envelope.subject, null);
  });

  it('an empty message', () => {
    const index = indexWellFormed(Buffer.alloc(0));
    assert.deepEqual(index.body.offsets, { headerStart: 0, bodyStart: 0, end: 0 });
  });

  it('NUL bytes: kept in offsets, dropped from envelope strings', () => {
    const raw = Buffer.from('Subject: a\0b\r\nContent-Type: multipart/mixed; boundary=b\0\r\n\r\n--b\0\r\n\r\n\0\0\r\n--b\0--\r\n');
    const index = indexWellFormed(raw);
    assert.equal(index.envelope.subject, 'ab');
    assert.equal(bodyOf(raw, asMultipart(index.body).parts[0]!), '\0\0');
  });

  it('10,000 header lines', () => {
    const raw = Buffer.from('Received: from x\r\n\tby y\r\n'.repeat(10_000) + 'Subject: late\r\n\r\nbody');
    const index = indexWellFormed(raw);
    assert.equal(index.envelope.subject, 'late');
    assert.equal(bodyOf(raw, index.body), 'body');
  });

  it('8-bit headers: UTF-8 when valid (RFC 6532), otherwise Latin-1 byte for byte', () => {
    const utf8 = indexWellFormed(Buffer.from('Subject: Grüße\r\nFrom: Jörg <jörg@exämple.de>\r\n\r\nx'));
    assert.equal(utf8.envelope.subject, 'Grüße');
    assert.deepEqual(utf8.envelope.from, [{ name: 'Jörg', adl: null, mailbox: 'jörg', host: 'exämple.de' }]);
    const latin1 = indexWellFormed(Buffer.concat([Buffer.from('Subject: Gr'), Buffer.from([0xfc, 0xdf]), Buffer.from('e\r\n\r\nx')]));
    assert.equal(latin1.envelope.subject, 'Grüße');
  });

  it('a field value ending in byte 0xA0 is not trimmed as if it were whitespace', () => {
    const raw = Buffer.from('Subject: à\r\n\r\nx'); // UTF-8 C3 A0
    assert.equal(indexWellFormed(raw).envelope.subject, 'à');
  });

  it('junk lines inside a header are skipped', () => {
    const raw = crlf('Subject: s', 'this line is junk', 'From: a@example.com', '', 'body');
    const index = indexWellFormed(raw);
    assert.equal(index.envelope.from?.[0]?.host, 'example.com');
    assert.equal(bodyOf(raw, index.body), 'body');
  });
});

describe('invalid encodings and parameters', () => {
  it('keeps unknown transfer encodings and charsets as given without failing', () => {
    const raw = crlf(
      'Content-Type: text/plain; charset*=x-unknown-charset\'\'%FF%FE%ZZ',
      'Content-Transfer-Encoding: x-garbage (comment)',
      '',
      '!!! not base64 at all',
    );
    const body = asSingle(indexWellFormed(raw).body);
    assert.equal(body.encoding, 'x-garbage');
    assert.equal(body.params[0]![0], 'charset');
  });

  it('malformed RFC 2231 sections are ignored or taken literally', () => {
    const raw = crlf('Content-Type: text/plain; a*x=1; b*0*=no-quote-marks; c*5="gap"; c*0=start; d*=utf-8\'\'%E2%9C', '', 'x');
    const body = asSingle(indexWellFormed(raw).body);
    assert.deepEqual(body.params.map(([name]) => name), ['a', 'b', 'c', 'd']);
    assert.equal(body.params.find(([name]) => name === 'c')![1], 'startgap');
  });

  it('addresses that are all punctuation still parse to something', () => {
    for (const value of ['<<<>>>', ':;:;', '@@@', ',,,', '"unterminated', '(unterminated comment', 'a@', '@b', '<>', 'Group: a@b, (no end']) {
      const index = indexWellFormed(crlf(`From: ${value}`, `To: ${value}`, '', 'x'));
      assert.ok(index.envelope.sender === index.envelope.from || index.envelope.sender !== null, value);
    }
  });
});

describe('line endings', () => {
  it('bare LF messages get the same structure, with offsets of their own bytes', () => {
    const lf = Buffer.from('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nline one\nline two\n--b\n\npart two\n--b--\n');
    const root = asMultipart(indexWellFormed(lf).body);
    assert.equal(root.parts.length, 2);
    assert.equal(headerOf(lf, root.parts[0]!), 'Content-Type: text/plain\n\n');
    assert.equal(bodyOf(lf, root.parts[0]!), 'line one\nline two');
    assert.equal(asSingle(root.parts[0]).lines, 2);
    assert.equal(bodyOf(lf, root.parts[1]!), 'part two');
  });
});

describe('size and time', () => {
  const MB = 1024 * 1024;
  const shapes: Array<[string, () => Buffer]> = [
    ['a 20 MB text body', () => Buffer.from('Subject: big\r\n\r\n' + 'a line of text in the body\r\n'.repeat((20 * MB) / 28))],
    ['a 20 MB single header line', () => Buffer.from('Subject: ' + 'x'.repeat(20 * MB))],
    ['20 MB of boundary look-alikes', () => Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + 'x--b\r\n--bx\r\n'.repeat((20 * MB) / 12))],
    ['20 MB of boundary lines', () => Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n'.repeat((20 * MB) / 5))],
    ['20 MB under 40 nested multiparts', () => {
      let nested = 'Content-Type: multipart/mixed; boundary=b0\r\n\r\n';
      for (let i = 0; i < 40; i++) nested += `--b${i}\r\nContent-Type: multipart/mixed; boundary=b${i + 1}\r\n\r\n`;
      return Buffer.from(nested + 'x\r\n'.repeat((20 * MB) / 3));
    }],
    ['2 MB of unclosed comments, quotes and angles in headers', () => Buffer.from(
      `Content-Type: text/plain; a=${'('.repeat(MB / 2)}\r\nTo: ${'"\\<'.repeat(MB / 6)}\r\nCc: ${'<a@b>'.repeat(MB / 10)}\r\n\r\nx`,
    )],
  ];
  for (const [name, build] of shapes) {
    it(`${name} is indexed in linear time`, () => {
      const raw = build();
      const started = performance.now();
      indexWellFormed(raw);
      const elapsed = performance.now() - started;
      // Generous: linear scans take well under a second here; backtracking would take minutes.
      assert.ok(elapsed < 10_000, `${Math.round(elapsed)} ms`);
    });
  }
});

describe('random bytes', () => {
  it('never throw and always give a well-formed index', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = ['\r\n', '\n', '--b', '--b--', ':', ';', 'Content-Type: multipart/mixed; boundary=b', 'Content-Type: message/rfc822', ' ', '"', '(', '<', '@', 'x', '\0', '\xff', '=?', '*0*=', "''"];
    for (let i = 0; i < 500; i++) {
      let text = '';
      const length = Math.floor(random() * 80);
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      indexWellFormed(Buffer.from(text, 'latin1'));
    }
  });
});

describe('fallback', () => {
  it('indexes the whole message as one text/plain part marked fallback', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nline 1\r\nline 2');
    const index = fallbackIndex(raw);
    assert.equal(index.fallback, true);
    assert.equal(index.size, raw.length);
    const body = asSingle(index.body);
    assert.deepEqual(body.offsets, { headerStart: 0, bodyStart: 0, end: raw.length });
    assert.deepEqual([body.type, body.subtype, body.size, body.lines], ['text', 'plain', raw.length, 4]);
  });

  it('is what indexMessage answers when parsing throws', () => {
    // Searching for a boundary throws, standing in for a splitter bug on unforeseen input.
    const raw = crlf('Subject: x', 'Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'body', '--b--');
    const broken = new Proxy(raw, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (key === 'indexOf') {
          return (needle: unknown, from?: number) => {
            if (typeof needle !== 'number') throw new Error('simulated parser failure');
            return target.indexOf(needle, from);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const index = indexMessage(broken);
    assert.equal(index.fallback, true);
    assert.equal(index.body.offsets.end, raw.length);
  });
});
