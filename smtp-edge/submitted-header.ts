// The header section of a submitted message, read while DATA streams (and held, bounded, until it
// is complete): its originator fields for the submission rights check (RFC 6409 §6.1), and the
// trace fields a submitter may not supply taken out (RFC 6409 §8, RFC 5321 §4.4): Return-Path,
// which only the final delivery MTA writes, and Received fields claiming our own host.
import { parseAddressList } from '../core/mime/address.ts';
import type { OriginatorFields } from './sending-policy.ts';

/** The most header a submission may have; more is refused (552 5.3.4) rather than held. */
export const MAX_SUBMITTED_HEADER_BYTES = 256 * 1024;

export type HeaderStep =
  /** Bytes to store now (empty while the header is still being held). */
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  /** The header section grew past the bound without ending. */
  | { readonly kind: 'too-large' };

/** One field: its lowercased name and raw bytes, continuation lines and final CRLF included. */
export interface RawField {
  readonly name: string | null;
  readonly raw: Buffer;
}

/**
 * Feed it the DATA bytes in order (after the line-ending check, so lines end in CRLF). It holds
 * bytes until the blank line that ends the header, then hands them on, rewritten only when a
 * field had to go: otherwise the message is stored byte for byte as sent.
 */
export class SubmittedHeaderReader {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private fields: OriginatorFields | null = null;

  constructor(
    /** Our host name: a Received field whose `by` names it did not come from us. */
    private readonly hostname: string,
    private readonly maxBytes = MAX_SUBMITTED_HEADER_BYTES,
  ) {}

  /** The originator fields, once the header section is complete (or the data ended). */
  get originators(): OriginatorFields | null {
    return this.fields;
  }

  push(chunk: Buffer): HeaderStep {
    if (this.fields) return { kind: 'bytes', bytes: chunk };
    const before = this.heldBytes;
    // Only the new chunk and the 3 bytes before it can complete the blank line: no rescanning,
    // and the chunks are joined once, at the end, so tiny chunks cost nothing quadratic.
    const tail = this.tail(3);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    const probe = Buffer.concat([tail, chunk]);
    let end = -1;
    // A message that starts with CRLF has an empty header section (RFC 5322 §2.1).
    if (before - tail.length === 0 && probe.length >= 2 && probe[0] === 0x0d && probe[1] === 0x0a) end = 0;
    else {
      const at = probe.indexOf('\r\n\r\n');
      if (at >= 0) end = before - tail.length + at + 2;
    }
    if (end < 0) return this.heldBytes > this.maxBytes ? { kind: 'too-large' } : { kind: 'bytes', bytes: Buffer.alloc(0) };
    if (end > this.maxBytes) return { kind: 'too-large' };
    return { kind: 'bytes', bytes: this.release(Buffer.concat(this.held), end) };
  }

  /** The last `n` bytes held (fewer when less is held). */
  private tail(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    for (let i = this.held.length - 1; i >= 0 && need > 0; i--) {
      const piece = this.held[i]!;
      parts.unshift(piece.subarray(Math.max(0, piece.length - need)));
      need -= Math.min(need, piece.length);
    }
    return Buffer.concat(parts);
  }

  /** At the end of DATA: a message that is all header (no blank line) is released as such. */
  finish(): Buffer {
    if (this.fields) return Buffer.alloc(0);
    const all = Buffer.concat(this.held);
    return this.release(all, all.length);
  }

  /** Splits `all` at `end` (the first byte after the header's last CRLF), reads and filters the fields. */
  private release(all: Buffer, end: number): Buffer {
    this.held = [];
    const fields = splitFields(all.subarray(0, end));
    const from: (string | null)[] = [];
    const sender: (string | null)[] = [];
    let fromFields = 0;
    const kept: Buffer[] = [];
    let dropped = false;
    for (const field of fields) {
      if (field.name === 'from') fromFields++;
      if (field.name === 'from' || field.name === 'sender') (field.name === 'from' ? from : sender).push(...mailboxesOf(field.raw));
      if (this.isUntrustedTrace(field)) dropped = true;
      else kept.push(field.raw);
    }
    this.fields = { fromFields, from, sender };
    const header = dropped ? Buffer.concat(kept) : all.subarray(0, end);
    return end === all.length ? header : Buffer.concat([header, all.subarray(end)]);
  }

  private isUntrustedTrace(field: RawField): boolean {
    if (field.name === 'return-path') return true;
    if (field.name !== 'received') return false;
    // RFC 5321 §4.4 Stamp: "by" Extended-Domain; a forged line naming us would pass for our own
    // trace. Every "by" counts (one may hide in a comment): dropping a submitter's line costs nothing.
    const ours = this.hostname.toLowerCase().replace(/\.$/, '');
    for (const by of unfold(field.raw).matchAll(/\bby[ \t]+\[?([^\s;()[\]]+)/gi)) {
      if (by[1]!.replace(/\.$/, '').toLowerCase() === ours) return true;
    }
    return false;
  }
}

/** The header section's fields; a line that is neither a field nor a continuation is its own nameless "field". */
export function splitFields(header: Buffer): RawField[] {
  const fields: RawField[] = [];
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf('\r\n', start);
    end = end < 0 ? header.length : end + 2;
    while (end < header.length && (header[end] === 0x20 || header[end] === 0x09)) {
      const next = header.indexOf('\r\n', end);
      end = next < 0 ? header.length : next + 2;
    }
    const raw = header.subarray(start, end);
    const name = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(raw.toString('latin1', 0, Math.min(raw.length, 200)))?.[1]?.toLowerCase() ?? null;
    fields.push({ name, raw });
    start = end;
  }
  return fields;
}

export const unfold = (raw: Buffer) => raw.toString('latin1').replace(/\r\n(?=[ \t])/g, '').replace(/\r\n$/, '');

/** The mailboxes of an address field as `local@domain`; null for one without a usable address, or with NUL or controls. */
function mailboxesOf(raw: Buffer): (string | null)[] {
  const field = unfold(raw);
  const value = field.slice(field.indexOf(':') + 1);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return [null];
  // Group markers have a null host (RFC 3501 §7.4.2); members are mailboxes like any other.
  const mailboxes = parseAddressList(value).filter((a) => a.host !== null);
  return mailboxes.map((a) => (a.mailbox && a.host ? `${a.mailbox}@${a.host}` : null));
}
