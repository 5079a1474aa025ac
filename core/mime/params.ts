// Parses parameterised MIME fields (Content-Type RFC 2045 §5.1, Content-Disposition
// RFC 2183) including RFC 2231 parameter continuations and charsets.

import { clip, decodeCharset, headerText, trimWsp } from './bytes.ts';

export type Param = readonly [string, string];

export interface ParameterisedValue {
  /** The main value (e.g. `text/plain`, `attachment`), lowercased, comments and whitespace removed. */
  readonly value: string;
  readonly params: Param[];
}

/** Caps that keep one hostile header from bloating the stored index. */
export const MAX_PARAMS = 32;
export const MAX_PARAM_VALUE = 998;
const MAX_PARAM_NAME = 78;
const MAX_SECTIONS = 64;

/** Skips a comment starting at `pos` (RFC 5322 §3.2.2, nested, with quoted-pairs); returns the index after it. */
export function skipComment(text: string, pos: number): number {
  let depth = 0;
  let p = pos;
  while (p < text.length) {
    const ch = text[p]!;
    if (ch === '\\') p += 2;
    else {
      if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) return p + 1;
      p++;
    }
  }
  return text.length;
}

/** Reads a quoted-string starting at the opening quote; unterminated ones run to the end. */
export function readQuoted(text: string, pos: number): { value: string; next: number } {
  let value = '';
  let p = pos + 1;
  while (p < text.length) {
    const ch = text[p]!;
    if (ch === '"') return { value, next: p + 1 };
    if (ch === '\\' && p + 1 < text.length) {
      value += text[p + 1];
      p += 2;
    } else {
      // Folding inside a quoted string leaves CR/LF only if the header was not unfolded; drop them.
      if (ch !== '\r' && ch !== '\n') value += ch;
      p++;
    }
  }
  return { value, next: p };
}

interface RawParam {
  readonly name: string;
  readonly value: string;
}

/** Splits `value *(";" attribute "=" value)`, tolerating unquoted spaces and junk as real mail needs. */
function splitParameterised(text: string): { value: string; raw: RawParam[] } {
  let p = 0;
  let main = '';
  while (p < text.length && text[p] !== ';') {
    const ch = text[p]!;
    if (ch === '(') p = skipComment(text, p);
    else if (ch === '"') {
      const quoted = readQuoted(text, p);
      main += quoted.value;
      p = quoted.next;
    } else {
      if (ch !== ' ' && ch !== '\t' && ch !== '\r' && ch !== '\n') main += ch;
      p++;
    }
  }
  const raw: RawParam[] = [];
  while (p < text.length && raw.length < MAX_PARAMS * 4) {
    p++; // the ';'
    let name = '';
    while (p < text.length && text[p] !== '=' && text[p] !== ';') {
      const ch = text[p]!;
      if (ch === '(') p = skipComment(text, p);
      else {
        if (ch !== ' ' && ch !== '\t' && ch !== '\r' && ch !== '\n') name += ch;
        p++;
      }
    }
    if (p >= text.length || text[p] === ';') continue;
    p++; // the '='
    while (p < text.length && (text[p] === ' ' || text[p] === '\t')) p++;
    let value = '';
    if (text[p] === '"') {
      const quoted = readQuoted(text, p);
      value = quoted.value;
      p = quoted.next;
    } else {
      const start = p;
      while (p < text.length && text[p] !== ';' && text[p] !== '(') p++;
      value = trimWsp(text.slice(start, p));
    }
    // Anything else up to the next ';' (comments, stray words) is not part of the value.
    while (p < text.length && text[p] !== ';') p = text[p] === '(' ? skipComment(text, p) : p + 1;
    if (name) raw.push({ name: clip(name.toLowerCase(), MAX_PARAM_NAME), value });
  }
  return { value: main.toLowerCase(), raw };
}

/** `%XX` octets of an RFC 2231 extended value; a malformed escape is kept literally. */
function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x25 && i + 2 < text.length && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(ch & 0xff);
  }
  return Buffer.from(bytes);
}

interface Continuation {
  plain: string | null;
  /** RFC 2231 pieces by section number (an unnumbered `name*` is section 0). */
  readonly sections: Map<number, { value: string; extended: boolean }>;
}

/**
 * Assembles RFC 2231 §3/§4 continuations and charset'language'value encodings into plain
 * values, keeping the order in which names first appeared. When both `name` and `name*`
 * are present, the RFC 2231 form wins: senders add the plain one for old readers.
 */
function assemble(raw: RawParam[]): Param[] {
  const byName = new Map<string, Continuation>();
  for (const { name, value } of raw) {
    const star = name.indexOf('*');
    const base = star < 0 ? name : name.slice(0, star);
    if (!base) continue;
    let entry = byName.get(base);
    if (!entry) {
      if (byName.size >= MAX_PARAMS) continue;
      entry = { plain: null, sections: new Map() };
      byName.set(base, entry);
    }
    if (star < 0) {
      entry.plain ??= value;
      continue;
    }
    const rest = name.slice(star + 1);
    const match = /^(\d{1,3})?(\*)?$/.exec(rest);
    if (!match) continue;
    const section = match[1] === undefined ? 0 : Number(match[1]);
    const extended = match[1] === undefined || match[2] === '*';
    if (section < MAX_SECTIONS && !entry.sections.has(section)) entry.sections.set(section, { value, extended });
  }

  const params: Param[] = [];
  for (const [name, entry] of byName) {
    if (entry.sections.size === 0) {
      params.push([name, clip(headerText(entry.plain ?? ''), MAX_PARAM_VALUE)]);
      continue;
    }
    let charset: string | null = null;
    const pieces: Buffer[] = [];
    const numbers = [...entry.sections.keys()].sort((a, b) => a - b);
    for (const number of numbers) {
      const piece = entry.sections.get(number)!;
      if (!piece.extended) {
        pieces.push(Buffer.from(piece.value, 'latin1'));
        continue;
      }
      let data = piece.value;
      if (number === numbers[0]) {
        // The first piece carries charset'language' (RFC 2231 §4); language is dropped.
        const first = data.indexOf("'");
        const second = first < 0 ? -1 : data.indexOf("'", first + 1);
        if (second >= 0) {
          charset = data.slice(0, first) || null;
          data = data.slice(second + 1);
        }
      }
      pieces.push(percentDecode(data));
    }
    params.push([name, clip(decodeCharset(Buffer.concat(pieces), charset), MAX_PARAM_VALUE)]);
  }
  return params;
}

/** Parses a Content-Type / Content-Disposition value (binary string). */
export function parseParameterised(text: string): ParameterisedValue {
  const { value, raw } = splitParameterised(text);
  return { value: headerText(value), params: assemble(raw) };
}

/** RFC 2045 §5.1 token characters: any CHAR except SPACE, CTLs and tspecials. */
export function isToken(text: string): boolean {
  return /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/.test(text);
}

/**
 * The multipart boundary as the exact bytes to look for. It is taken from the raw
 * parameter so 8-bit junk in it still matches byte for byte; RFC 2046 §5.1.1 allows
 * only 1-70 ASCII characters, but real mail is not always so kind.
 */
export function boundaryBytes(contentType: string): Buffer | null {
  const { raw } = splitParameterised(contentType);
  const plain = raw.find((param) => param.name === 'boundary');
  if (plain) return plain.value ? Buffer.from(plain.value, 'latin1') : null;
  const assembled = assemble(raw).find(([name]) => name === 'boundary');
  return assembled && assembled[1] ? Buffer.from(assembled[1], 'utf8') : null;
}
