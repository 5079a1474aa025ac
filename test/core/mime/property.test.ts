// Property-style test: random nested MIME structures are generated together with the
// byte offsets of every part, and the index must find exactly those offsets, types and
// bytes again. Seeded, so a failure names the seed that reproduces it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexMessage, type BodyPart, type PartOffsets } from '../../../core/mime/index.ts';

interface Random {
  next(): number;
  int(max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

function seeded(seed: number): Random {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  return {
    next,
    int: (max) => Math.floor(next() * max),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

/** What was generated, with where it landed in the bytes. */
type Expected =
  | { kind: 'single'; type: string; subtype: string; offsets: PartOffsets; body: string; message?: Expected }
  | { kind: 'multipart'; subtype: string; offsets: PartOffsets; parts: Expected[] };

/** Builds a message into `out` and records expected offsets; one line ending per message. */
class MessageWriter {
  private text = '';
  private boundaries = 0;
  constructor(private readonly random: Random, private readonly eol: string) {}

  get length(): number {
    return Buffer.byteLength(this.text, 'latin1');
  }
  get bytes(): Buffer {
    return Buffer.from(this.text, 'latin1');
  }
  private write(text: string): void {
    this.text += text;
  }

  /** Lowercase-only text, so it can never contain a boundary (which has uppercase letters). */
  private textLines(allowEmptyFirst: boolean): string[] {
    const count = this.random.int(4);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const words = this.random.int(5);
      let line = Array.from({ length: words }, () => this.random.pick(['hello', 'world', '--', '-', 'mime', 'x', '', ' ', '\t'])).join(' ');
      if (this.random.chance(0.1)) line = `--${line}`;
      if (i === 0 && !allowEmptyFirst && line.trim() === '') line = 'first';
      lines.push(line);
    }
    if (!allowEmptyFirst && lines.length > 0 && /^[ \t]/.test(lines[0]!)) lines[0] = `x${lines[0]}`;
    return lines;
  }

  private contentType(value: string, param: string | null): string {
    if (!param) return `Content-Type: ${value}${this.eol}`;
    return this.random.chance(0.5) ? `Content-Type: ${value}; ${param}${this.eol}` : `Content-Type: ${value};${this.eol}\t${param}${this.eol}`;
  }

  /** Writes one entity (header and body) and returns what the index should say about it. */
  entity(depth: number, isMessage: boolean): Expected {
    const headerStart = this.length;
    const roll = this.random.next();
    const prefix = isMessage ? `Subject: level ${depth}${this.eol}` : '';
    if (depth < 5 && roll < 0.3) return this.multipart(depth, headerStart, prefix);
    if (depth < 5 && roll < 0.4) return this.message(depth, headerStart, prefix);

    // A leaf: with a Content-Type, with an empty header, or (not for messages) with no header at all.
    const style = this.random.int(isMessage ? 2 : 3);
    let type = 'text';
    let subtype = 'plain';
    if (style === 0) {
      [type, subtype] = this.random.pick([['text', 'plain'], ['text', 'html'], ['application', 'octet-stream'], ['image', 'png']] as const);
      this.write(prefix + this.contentType(`${type}/${subtype}`, type === 'text' ? 'charset=utf-8' : null) + this.eol);
    } else if (style === 1) {
      this.write(prefix + this.eol);
    }
    const bodyStart = this.length;
    let body = this.textLines(style !== 2).join(this.eol) + (this.random.chance(0.3) ? this.eol : '');
    // Without a header, a body starting with a blank line would read as an empty header.
    if (style === 2 && body.startsWith(this.eol)) body = `x${body}`;
    this.write(body);
    return { kind: 'single', type, subtype, offsets: { headerStart, bodyStart, end: this.length }, body };
  }

  private multipart(depth: number, headerStart: number, prefix: string): Expected {
    const boundary = `B${this.boundaries++}Q${this.random.pick(['', '=_x', '.Z', "'()+_,-./:=?"])}`;
    const quoted = /[^A-Za-z0-9_.-]/.test(boundary) || this.random.chance(0.5);
    const subtype = this.random.pick(['mixed', 'alternative', 'related']);
    this.write(prefix + this.contentType(`multipart/${subtype}`, quoted ? `boundary="${boundary}"` : `boundary=${boundary}`) + this.eol);
    const bodyStart = this.length;
    if (this.random.chance(0.4)) this.write(this.textLines(true).join(this.eol) + this.eol);
    const padding = (): string => this.random.pick(['', '', ' ', '\t ']);
    const count = 1 + this.random.int(4);
    const parts: Expected[] = [];
    for (let i = 0; i < count; i++) {
      this.write(`--${boundary}${padding()}${this.eol}`);
      parts.push(this.entity(depth + 1, false));
      // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
      this.write(this.eol);
    }
    this.write(`--${boundary}--${padding()}`);
    if (this.random.chance(0.5)) this.write(this.eol + this.textLines(true).join(this.eol));
    return { kind: 'multipart', subtype, offsets: { headerStart, bodyStart, end: this.length }, parts };
  }

  private message(depth: number, headerStart: number, prefix: string): Expected {
    this.write(prefix + this.contentType('message/rfc822', null) + this.eol);
    const bodyStart = this.length;
    const inner = this.entity(depth + 1, true);
    return { kind: 'single', type: 'message', subtype: 'rfc822', offsets: { headerStart, bodyStart, end: this.length }, body: '', message: inner };
  }
}

function assertMatches(raw: Buffer, actual: BodyPart, expected: Expected, path: string): void {
  assert.deepEqual(actual.offsets, expected.offsets, `offsets of ${path}`);
  assert.equal(actual.kind, expected.kind, `kind of ${path}`);
  if (expected.kind === 'multipart') {
    assert.ok(actual.kind === 'multipart');
    assert.equal(actual.subtype, expected.subtype, `subtype of ${path}`);
    assert.equal(actual.parts.length, expected.parts.length, `part count of ${path}`);
    expected.parts.forEach((part, i) => assertMatches(raw, actual.parts[i]!, part, `${path}.${i + 1}`));
    return;
  }
  assert.ok(actual.kind === 'single');
  assert.deepEqual([actual.type, actual.subtype], [expected.type, expected.subtype], `type of ${path}`);
  assert.equal(actual.size, expected.offsets.end - expected.offsets.bodyStart);
  if (expected.message) {
    assert.ok(actual.message, `${path} is an encapsulated message`);
    assertMatches(raw, actual.message.body, expected.message, `${path}(message)`);
  } else {
    assert.equal(raw.toString('latin1', actual.offsets.bodyStart, actual.offsets.end), expected.body, `body bytes of ${path}`);
  }
}

describe('random nested structures', () => {
  for (const eol of ['\r\n', '\n']) {
    it(`offsets slice back exactly the generated parts (${JSON.stringify(eol)} line endings)`, () => {
      for (let seed = 1; seed <= 400; seed++) {
        const writer = new MessageWriter(seeded(seed * 7919 + eol.length), eol);
        const expected = writer.entity(0, true);
        const raw = writer.bytes;
        const index = indexMessage(raw);
        assert.equal(index.fallback, false);
        try {
          assertMatches(raw, index.body, expected, 'root');
        } catch (error) {
          throw new Error(`seed ${seed}: ${(error as Error).message}\n${JSON.stringify(raw.toString('latin1'))}`, { cause: error });
        }
        assert.equal(index.envelope.subject, 'level 0');
      }
    });
  }
});
