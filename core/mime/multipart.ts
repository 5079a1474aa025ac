// Finds the body parts of a multipart entity by its boundary lines (RFC 2046 §5.1.1),
// without regular expressions: one indexOf pass over the bytes, linear in the body size.

import { CR, HT, LF, SP } from './bytes.ts';

/** Byte range of one encapsulated part: [start, end), end excluding the line break that precedes the next boundary. */
export interface PartRange {
  readonly start: number;
  readonly end: number;
}

export interface MultipartSplit {
  readonly parts: PartRange[];
  /** Whether a close delimiter (`--boundary--`) was seen; unterminated multiparts run to the end. */
  readonly closed: boolean;
}

const DASH = 0x2d;

/**
 * Splits the multipart body in [start, end). A delimiter line is `--boundary`, then `--`
 * on the close delimiter, then transport padding (LWSP), then the line break; it must
 * start a line. The line break before it belongs to the delimiter (RFC 2046 §5.1.1:
 * "the CRLF preceding the boundary delimiter line is conceptually attached to the
 * boundary"), so it is not part of the preceding part. The preamble and the epilogue
 * are not parts. At most `maxParts` parts are returned; the rest are left out.
 */
export function splitMultipart(buf: Buffer, start: number, end: number, boundary: Buffer, maxParts: number): MultipartSplit {
  const delimiter = Buffer.concat([Buffer.from('--'), boundary]);
  const parts: PartRange[] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const hit = buf.indexOf(delimiter, pos);
    if (hit < 0 || hit + delimiter.length > end) break;
    pos = hit + 1;
    if (hit > start && buf[hit - 1] !== LF) continue;

    let p = hit + delimiter.length;
    let closing = false;
    if (p + 2 <= end && buf[p] === DASH && buf[p + 1] === DASH) {
      closing = true;
      p += 2;
    }
    while (p < end && (buf[p] === SP || buf[p] === HT)) p++;
    let next: number;
    if (p >= end) next = end;
    else if (buf[p] === LF) next = p + 1;
    else if (buf[p] === CR && (p + 1 === end || buf[p + 1] === LF)) next = Math.min(p + 2, end);
    else continue; // `--boundaryX...` is text, not a delimiter.

    if (partStart >= 0) {
      let partEnd = hit;
      if (partEnd > partStart && buf[partEnd - 1] === LF) {
        partEnd--;
        if (partEnd > partStart && buf[partEnd - 1] === CR) partEnd--;
      }
      parts.push({ start: partStart, end: partEnd });
      if (parts.length >= maxParts) return { parts, closed: closing };
    }
    if (closing) return { parts, closed: true };
    partStart = next;
    pos = next;
  }
  if (partStart >= 0 && parts.length < maxParts) parts.push({ start: partStart, end });
  return { parts, closed: false };
}
