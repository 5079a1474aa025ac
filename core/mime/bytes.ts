// Byte-level helpers for the MIME indexer: line scanning over a Buffer (CRLF or bare LF)
// and conversion of raw header bytes to strings.

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HT = 0x09;

/** Where a line ends: `contentEnd` excludes the line break, `next` is the first byte of the next line. */
export interface LineBounds {
  readonly contentEnd: number;
  readonly next: number;
}

/**
 * The line starting at `pos`, within [pos, end). The edge normalises to CRLF, but stored
 * blobs from elsewhere (APPEND, imports) may use bare LF, so both end a line.
 */
export function lineAt(buf: Buffer, pos: number, end: number): LineBounds {
  let lf = buf.indexOf(LF, pos);
  if (lf < 0 || lf >= end) {
    // Last line without a break; a trailing CR on it is still a line-break remnant.
    const contentEnd = end > pos && buf[end - 1] === CR ? end - 1 : end;
    return { contentEnd, next: end };
  }
  const contentEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
  return { contentEnd, next: lf + 1 };
}

/**
 * Number of text lines in [start, end): every LF ends one, and a last line without a
 * break still counts (a part's final CRLF belongs to the boundary, RFC 2046 §5.1.1).
 */
export function countLines(buf: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  let lines = 0;
  let pos = start;
  for (;;) {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0 || lf >= end) break;
    lines++;
    pos = lf + 1;
  }
  if (pos < end) lines++;
  return lines;
}

/** Raw bytes as a "binary string" (one char per byte), so boundaries and RFC 2231 octets survive exactly. */
export function binaryString(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * A binary string as display text: 8-bit header bytes are read as UTF-8 when they are
 * valid UTF-8 (RFC 6532), otherwise as Latin-1 so no byte is lost. NUL is dropped:
 * RFC 5322 §3.5 forbids it and IMAP strings cannot carry it.
 */
export function headerText(binary: string): string {
  let text = binary;
  if (text.includes('\0')) text = text.replaceAll('\0', '');
  if (!/[\x80-\xff]/.test(text)) return text;
  try {
    return utf8Strict.decode(Buffer.from(text, 'latin1'));
  } catch {
    return text;
  }
}

/** Decodes bytes in a named charset (RFC 2231 values); unknown charsets fall back like headerText. */
export function decodeCharset(bytes: Buffer, charset: string | null): string {
  if (charset) {
    try {
      return new TextDecoder(charset.trim().toLowerCase()).decode(bytes).replaceAll('\0', '');
    } catch {
      // Unknown label: fall through to the heuristic.
    }
  }
  return headerText(bytes.toString('latin1'));
}

/** Cuts a string to at most `max` UTF-16 units without splitting a surrogate pair. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return text.slice(0, cut);
}

/** Trims SP, HT, CR and LF only: String.prototype.trim would also eat U+00A0, which in a binary string is the byte 0xA0. */
export function trimWsp(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWsp(text.charCodeAt(start))) start++;
  while (end > start && isWsp(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isWsp(code: number): boolean {
  return code === SP || code === HT || code === CR || code === LF;
}
