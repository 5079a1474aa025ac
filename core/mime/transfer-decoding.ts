// Content-transfer-decoding (RFC 2045 §6) of one part, for IMAP BINARY (RFC 3516), and the layout
// the indexer records when a part is filed so that a decoded range of a base64 part maps to a byte
// range of the blob: a client fetching a large attachment in chunks reads only those chunks.

/** What the index keeps about a part's decoded form (SinglePart.decoded). */
export interface DecodedLayout {
  /** Octets after content-transfer-decoding (RFC 3516 BINARY.SIZE). */
  readonly size: number;
  /**
   * Base64 written in lines of exactly this many characters, each ended by CRLF, except the last
   * (shorter or equal, padding only there): decoded octet o then lies on line ⌊o / (n·3/4)⌋.
   * Null when the part is not base64 or its lines are not that regular.
   */
  readonly base64Line: number | null;
}

export type TransferEncoding = 'identity' | 'base64' | 'quoted-printable';

/** RFC 2045 §6.1 mechanisms; null for one we cannot decode (RFC 3516 §4.1 [UNKNOWN-CTE]). */
export function transferEncoding(encoding: string): TransferEncoding | null {
  switch (encoding.toLowerCase()) {
    case '7bit':
    case '8bit':
    case 'binary':
      return 'identity';
    case 'base64':
      return 'base64';
    case 'quoted-printable':
      return 'quoted-printable';
    default:
      return null;
  }
}

const isBase64Char = (b: number) =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f;

/** Base64 decoding as RFC 2045 §6.8 asks: characters outside the alphabet (line breaks) are ignored. */
export function decodeBase64(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1'), 'base64');
}

const hexValue = (b: number) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1);

/**
 * RFC 2045 §6.7: "=XX" is an octet, "=" at the end of a line a soft line break; trailing white
 * space of an encoded line is removed (rule 3); line breaks are CRLF. An "=" not followed by two
 * hex digits is kept as it is (the robustness §6.7 suggests); lower-case hex is accepted.
 */
export function decodeQuotedPrintable(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const lf = bytes.indexOf(0x0a, pos);
    const hasBreak = lf !== -1;
    let end = hasBreak ? lf : bytes.length;
    if (end > pos && bytes[end - 1] === 0x0d) end--;
    while (end > pos && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
    let soft = false;
    for (let i = pos; i < end; i++) {
      const b = bytes[i]!;
      if (b !== 0x3d) {
        out[n++] = b;
        continue;
      }
      if (i === end - 1) {
        soft = true;
        break;
      }
      const hi = hexValue(bytes[i + 1]!);
      const lo = i + 2 < end ? hexValue(bytes[i + 2]!) : -1;
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
      } else out[n++] = b;
    }
    if (hasBreak && !soft) {
      out[n++] = 0x0d;
      out[n++] = 0x0a;
    }
    pos = hasBreak ? lf + 1 : bytes.length;
  }
  return out.subarray(0, n);
}

/** The content of a part after content-transfer-decoding. */
export function decodeTransfer(bytes: Buffer, encoding: TransferEncoding): Buffer {
  if (encoding === 'base64') return decodeBase64(bytes);
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(bytes);
  return bytes;
}

/**
 * The line length of regular base64 in raw[start, end): every line but the last the same
 * length (a multiple of 4), CRLF-ended, only alphabet characters, "=" padding only at the very end.
 */
function regularBase64Line(raw: Buffer, start: number, end: number): number | null {
  let lineChars: number | null = null;
  let pos = start;
  while (pos < end) {
    const lf = raw.indexOf(0x0a, pos);
    const last = lf === -1 || lf >= end;
    const lineEnd = last ? end : lf;
    if (!last && (lineEnd === pos || raw[lineEnd - 1] !== 0x0d)) return null;
    const textEnd = last ? lineEnd : lineEnd - 1;
    let chars = textEnd - pos;
    // Padding: at most two "=", on the last line of text only.
    let padding = 0;
    while (chars > 0 && raw[pos + chars - 1] === 0x3d && padding < 2) {
      chars--;
      padding++;
    }
    for (let i = pos; i < pos + chars; i++) if (!isBase64Char(raw[i]!)) return null;
    const rest = last ? end : lf + 1;
    const isLastText = last || rest >= end;
    const length = chars + padding;
    if (!isLastText) {
      if (padding > 0 || length === 0 || length % 4 !== 0) return null;
      if (lineChars === null) lineChars = length;
      else if (length !== lineChars) return null;
    } else if (lineChars !== null && length > lineChars) return null;
    else if (lineChars === null) lineChars = length > 0 ? Math.ceil(length / 4) * 4 : null;
    pos = rest;
  }
  return lineChars;
}

/** The decoded layout of raw[start, end) under `encoding` (computed once, when the message is filed). */
export function decodedLayout(raw: Buffer, start: number, end: number, encoding: string): DecodedLayout | null {
  const mechanism = transferEncoding(encoding);
  if (mechanism === null) return null;
  const body = raw.subarray(start, end);
  if (mechanism === 'identity') return { size: body.length, base64Line: null };
  const size = decodeTransfer(body, mechanism).length;
  return { size, base64Line: mechanism === 'base64' ? regularBase64Line(raw, start, end) : null };
}

/**
 * For regular base64 (see DecodedLayout.base64Line): the byte range, relative to the part's
 * body, holding decoded octets [offset, offset + length), and where they start in its decoding.
 */
export function base64Window(lineChars: number, encodedSize: number, offset: number, length: number): { start: number; end: number; skip: number } {
  const perLine = (lineChars / 4) * 3;
  const firstLine = Math.floor(offset / perLine);
  const lastLine = Math.floor((offset + length - 1) / perLine);
  const stride = lineChars + 2;
  return {
    start: Math.min(encodedSize, firstLine * stride),
    end: Math.min(encodedSize, (lastLine + 1) * stride),
    skip: offset - firstLine * perLine,
  };
}
