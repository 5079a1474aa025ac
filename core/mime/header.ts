// Reads a header block (RFC 5322 §2.2) out of the raw bytes: where it ends and the
// unfolded values of the fields the index needs.

import { HT, SP, binaryString, lineAt, trimWsp } from './bytes.ts';

/** Longest field value kept (as raw bytes); longer values are cut, never rejected. */
export const MAX_FIELD_BYTES = 128 * 1024;

/** The fields ENVELOPE and BODYSTRUCTURE are built from (RFC 3501 §7.4.2, RFC 2045, RFC 2183, RFC 3282, RFC 2557, RFC 1864). */
const INDEXED_FIELDS = new Set([
  'date', 'subject', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'in-reply-to', 'message-id',
  'content-type', 'content-transfer-encoding', 'content-id', 'content-description',
  'content-disposition', 'content-language', 'content-location', 'content-md5',
]);

export interface HeaderBlock {
  /** First byte after the blank line ending the header; equals the block start when there is no header. */
  readonly bodyStart: number;
  /**
   * Lowercased field name → unfolded raw value as a binary string (one char per byte),
   * trimmed of surrounding whitespace. The first occurrence of a field wins.
   */
  readonly fields: ReadonlyMap<string, string>;
}

/** Length of the field name at `pos` if the line there starts `name:` (RFC 5322 §3.6.8, obs-optional allows WSP before the colon); else -1. */
function fieldNameLength(buf: Buffer, pos: number, end: number): number {
  let p = pos;
  while (p < end) {
    const byte = buf[p]!;
    if (byte === 0x3a) break;
    if (byte <= SP || byte >= 0x7f) break;
    p++;
  }
  const nameEnd = p;
  if (nameEnd === pos) return -1;
  while (p < end && (buf[p] === SP || buf[p] === HT)) p++;
  return p < end && buf[p] === 0x3a ? nameEnd - pos : -1;
}

/**
 * Reads the header block in [start, end). Lenient where real mail is broken: a first line
 * that is not a field means the part has no header at all (e.g. content right after a
 * boundary); later junk lines are skipped; a header without a blank line runs to `end`.
 */
export function readHeader(buf: Buffer, start: number, end: number): HeaderBlock {
  const fields = new Map<string, string>();
  if (start >= end) return { bodyStart: end, fields };
  const first = lineAt(buf, start, end);
  if (first.contentEnd === start) return { bodyStart: first.next, fields };
  if (fieldNameLength(buf, start, end) < 0) return { bodyStart: start, fields };

  let currentName: string | null = null;
  let currentValue = '';
  const finishField = (): void => {
    if (currentName !== null && !fields.has(currentName)) fields.set(currentName, trimWsp(currentValue));
    currentName = null;
    currentValue = '';
  };

  let pos = start;
  while (pos < end) {
    const line = lineAt(buf, pos, end);
    if (line.contentEnd === pos) {
      finishField();
      return { bodyStart: line.next, fields };
    }
    const firstByte = buf[pos];
    if (firstByte === SP || firstByte === HT) {
      // Continuation line: unfolding removes only the line break (RFC 5322 §2.2.3).
      if (currentName !== null && currentValue.length < MAX_FIELD_BYTES) {
        currentValue += binaryString(buf, pos, Math.min(line.contentEnd, pos + MAX_FIELD_BYTES - currentValue.length));
      }
    } else {
      finishField();
      const nameLength = fieldNameLength(buf, pos, line.contentEnd);
      if (nameLength > 0) {
        const name = binaryString(buf, pos, pos + nameLength).toLowerCase();
        if (INDEXED_FIELDS.has(name) && !fields.has(name)) {
          const colon = buf.indexOf(0x3a, pos + nameLength);
          currentName = name;
          currentValue = binaryString(buf, colon + 1, Math.min(line.contentEnd, colon + 1 + MAX_FIELD_BYTES));
        }
      }
    }
    pos = line.next;
  }
  finishField();
  return { bodyStart: end, fields };
}

