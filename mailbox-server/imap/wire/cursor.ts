// Reads the tokens of RFC 3501 §9 (atoms, quoted strings, literals, numbers) from a framed
// command, walking its line and literal chunks; every failure is a ParseError with the tag.
import type { CommandChunk } from './reader.ts';
import { ParseError } from './parse-error.ts';

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

// RFC 3501 §9 ATOM-CHAR = <any CHAR except atom-specials>;
// atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
export const isAtomChar = (b: number) =>
  b > 0x20 && b < 0x7f && b !== 0x28 && b !== 0x29 && b !== 0x7b && b !== 0x25 && b !== 0x2a && b !== DQUOTE && b !== BACKSLASH && b !== 0x5d;
// ASTRING-CHAR = ATOM-CHAR / resp-specials
export const isAstringChar = (b: number) => isAtomChar(b) || b === 0x5d;
// list-char = ATOM-CHAR / list-wildcards / resp-specials
export const isListChar = (b: number) => isAstringChar(b) || b === 0x25 || b === 0x2a;

/** Where the parser stands in a command: a chunk index and an offset in that line. */
export class Cursor {
  private chunk = 0;
  private pos = 0;

  constructor(
    private readonly chunks: readonly CommandChunk[],
    public tag: string | null = null,
  ) {
    if (chunks[0]?.kind !== 'line') throw new ParseError(null, 'Empty command');
  }

  private get line(): Buffer {
    return this.chunks[this.chunk]!.bytes;
  }

  /** A position to come back to after a look-ahead. */
  mark(): readonly [number, number] {
    return [this.chunk, this.pos];
  }

  restore(mark: readonly [number, number]): void {
    [this.chunk, this.pos] = mark;
  }

  fail(message: string, code: string | null = null): never {
    throw new ParseError(this.tag, message, code);
  }

  /** The next byte of the current line, or -1 at its end. */
  peek(): number {
    return this.pos < this.line.length ? this.line[this.pos]! : -1;
  }

  /** True when the whole command has been read. */
  atEnd(): boolean {
    return this.chunk === this.chunks.length - 1 && this.pos >= this.line.length;
  }

  end(): void {
    if (!this.atEnd()) this.fail('Unexpected extra arguments');
  }

  /** Consumes `byte` if it is next. */
  accept(byte: number): boolean {
    if (this.peek() !== byte) return false;
    this.pos++;
    return true;
  }

  expect(byte: number, what: string): void {
    if (!this.accept(byte)) this.fail(`Expected ${what}`);
  }

  sp(): void {
    this.expect(SP, 'a space');
  }

  /** Bytes while `test` holds, as latin1 text (these are always 7-bit token characters). */
  takeWhile(test: (b: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.line.length && test(this.line[this.pos]!)) this.pos++;
    return this.line.toString('latin1', start, this.pos);
  }

  /** atom = 1*ATOM-CHAR */
  atom(what = 'an atom'): string {
    const text = this.takeWhile(isAtomChar);
    if (text.length === 0) this.fail(`Expected ${what}`);
    return text;
  }

  /** A keyword such as a command or search key name: uppercased atom. */
  keyword(what: string): string {
    return this.atom(what).toUpperCase();
  }

  /** number = 1*DIGIT, an unsigned 32-bit integer. */
  number(what = 'a number'): number {
    const digits = this.takeWhile((b) => b >= 0x30 && b <= 0x39);
    if (digits.length === 0 || digits.length > 10 || Number(digits) > 4_294_967_295) this.fail(`Expected ${what}`);
    return Number(digits);
  }

  /** nz-number = digit-nz *DIGIT */
  nzNumber(what = 'a non-zero number'): number {
    if (this.peek() === 0x30) this.fail(`Expected ${what}`);
    return this.number(what);
  }

  /** RFC 7162 §7 mod-sequence-value = 1*DIGIT, at most 2^63 - 1. */
  modSequence(allowZero: boolean): bigint {
    const digits = this.takeWhile((b) => b >= 0x30 && b <= 0x39);
    if (digits.length === 0 || digits.length > 19) this.fail('Expected a mod-sequence');
    const value = BigInt(digits);
    if (value > 9_223_372_036_854_775_807n || (!allowZero && value === 0n)) this.fail('Invalid mod-sequence');
    return value;
  }

  /** string = quoted / literal, as raw bytes. */
  stringBytes(): Buffer {
    if (this.peek() === DQUOTE) return this.quoted();
    if (this.peek() === 0x7b) return this.literal();
    return this.fail('Expected a string');
  }

  /** A string decoded as UTF-8; NUL is refused (RFC 3501 §9: CHAR8 = %x01-ff). */
  string(): string {
    return this.text(this.stringBytes());
  }

  /** astring = 1*ASTRING-CHAR / string */
  astring(what = 'a string'): string {
    const b = this.peek();
    if (b === DQUOTE || b === 0x7b) return this.string();
    const text = this.takeWhile(isAstringChar);
    if (text.length === 0) this.fail(`Expected ${what}`);
    return text;
  }

  /** nstring = string / nil */
  nstring(): string | null {
    if (this.peek() === DQUOTE || this.peek() === 0x7b) return this.string();
    if (this.keyword('a string or NIL') !== 'NIL') this.fail('Expected a string or NIL');
    return null;
  }

  /** True (and consumed) when the next token is the case-insensitive word `word`, followed by a delimiter. */
  word(word: string): boolean {
    const end = this.pos + word.length;
    if (end > this.line.length || this.line.toString('latin1', this.pos, end).toUpperCase() !== word) return false;
    const after = end < this.line.length ? this.line[end]! : -1;
    if (after !== -1 && isAtomChar(after) && after !== 0x5b) return false;
    this.pos = end;
    return true;
  }

  private text(bytes: Buffer): string {
    if (bytes.includes(0)) this.fail('NUL is not allowed in strings');
    return bytes.toString('utf8');
  }

  /** quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <TEXT-CHAR except quoted-specials> / "\" quoted-specials. 8-bit is accepted (RFC 6855 / RFC 9051 UTF-8). */
  private quoted(): Buffer {
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      const b = this.peek();
      if (b === -1) this.fail('Unterminated quoted string');
      this.pos++;
      if (b === DQUOTE) return Buffer.from(bytes);
      if (b === BACKSLASH) {
        const escaped = this.peek();
        if (escaped !== DQUOTE && escaped !== BACKSLASH) this.fail('Invalid escape in quoted string');
        this.pos++;
        bytes.push(escaped);
      } else if (b === 0x00 || b === 0x0d || b === 0x0a) {
        this.fail('Invalid character in quoted string');
      } else {
        bytes.push(b);
      }
    }
  }

  /** literal = "{" number ["+"] "}" CRLF *CHAR8; the reader put the data in the next chunk. */
  /** RFC 3516 literal8 = "~{" number ["+"] "}" CRLF *OCTET (RFC 6855 §4 APPEND UTF8). */
  literal8(): Buffer {
    this.expect(0x7e, 'a literal8');
    if (this.peek() !== 0x7b) this.fail('Expected a literal8');
    return this.literal();
  }

  private literal(): Buffer {
    this.pos++;
    this.number('a literal length');
    this.accept(0x2b);
    this.expect(0x7d, '"}"');
    const data = this.chunks[this.chunk + 1];
    const next = this.chunks[this.chunk + 2];
    if (this.pos !== this.line.length || data?.kind !== 'literal' || next?.kind !== 'line') this.fail('Malformed literal');
    this.chunk += 2;
    this.pos = 0;
    return data.bytes;
  }
}
