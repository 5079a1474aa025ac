// A copy's own header lines, served in front of the shared blob: the message a reader sees is
// prefix + blob (docs/decisions/0015-junk-filter.md, addendum). The blob and its MIME index stay
// shared and unchanged; this file is the one place that maps a copy's offsets onto them.
import { Readable } from 'node:stream';
import type { BlobReads } from './blob-read-budget.ts';
import type { BodyPart, MessageIndex, PartOffsets } from './mime/types.ts';

/** A prefix is a few short fields; anything larger is a bug, not a header worth storing. */
export const MAX_HEADER_PREFIX_OCTETS = 1024;
/** RFC 5322 §2.1.1: a line is at most 998 characters before its CRLF; ours stay well under 78 where they can. */
const MAX_LINE_OCTETS = 998;

/** RFC 5322 §3.6.8 field-name: printable US-ASCII except ":". */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * The prefix of `fields`: one `Name: value` CRLF line each (RFC 5322 §2.2), values made printable
 * US-ASCII (controls and 8-bit octets become spaces), each line cut to 998 octets. Throws on a
 * bad field name or a prefix over MAX_HEADER_PREFIX_OCTETS.
 */
export function headerPrefix(fields: ReadonlyArray<readonly [string, string]>): string {
  const lines = fields.map(([name, value]) => {
    if (!FIELD_NAME.test(name)) throw new RangeError(`not a header field name: ${JSON.stringify(name)}`);
    const clean = value.replace(/[^\x20-\x7e]/g, ' ').trim();
    return `${`${name}: ${clean}`.slice(0, MAX_LINE_OCTETS)}\r\n`;
  });
  const prefix = lines.join('');
  if (!isHeaderPrefix(prefix)) throw new RangeError(`header prefix over ${MAX_HEADER_PREFIX_OCTETS} octets or malformed`);
  return prefix;
}

/** Whether `prefix` is what headerPrefix makes: whole RFC 5322 field lines, bounded. Readers serve nothing else. */
export function isHeaderPrefix(prefix: string): boolean {
  if (prefix.length > MAX_HEADER_PREFIX_OCTETS) return false;
  if (prefix === '') return true;
  if (!prefix.endsWith('\r\n')) return false;
  return prefix.slice(0, -2).split('\r\n').every((line) => {
    const colon = line.indexOf(':');
    return colon > 0 && line.length <= MAX_LINE_OCTETS && FIELD_NAME.test(line.slice(0, colon)) && /^[\x20-\x7e\t]*$/.test(line.slice(colon + 1));
  });
}

/** What a copy carries beyond the blob: its prefix, if any (items without one are read as the blob). */
export interface CopyOfBlob {
  readonly blobKey: string;
  readonly index: MessageIndex;
  readonly headerPrefix?: string | null;
}

/** The octets the copy's prefix adds (0 without one, or with one that is not valid: it is not served). */
export function prefixOctets(copy: Pick<CopyOfBlob, 'headerPrefix'>): number {
  const prefix = copy.headerPrefix;
  return prefix && isHeaderPrefix(prefix) ? Buffer.byteLength(prefix, 'latin1') : 0;
}

function shiftOffsets(offsets: PartOffsets, by: number, root: boolean): PartOffsets {
  // The root's header block starts at 0 and now holds the prefix too.
  return { headerStart: root ? offsets.headerStart : offsets.headerStart + by, bodyStart: offsets.bodyStart + by, end: offsets.end + by };
}

function shiftPart(part: BodyPart, by: number, root: boolean): BodyPart {
  const offsets = shiftOffsets(part.offsets, by, root);
  if (part.kind === 'multipart') return { ...part, offsets, parts: part.parts.map((p) => shiftPart(p, by, false)) };
  if (!part.message) return { ...part, offsets };
  return { ...part, offsets, message: { ...part.message, body: shiftPart(part.message.body, by, false) } };
}

/**
 * The copy's MIME index in copy offsets: every part after the prefix, the root header block
 * from 0 including it, the size grown by it. Sizes of parts (BODYSTRUCTURE) and the ENVELOPE
 * do not change: the prefix is header fields of the top-level message only.
 */
export function copyIndex(copy: CopyOfBlob): MessageIndex {
  const by = prefixOctets(copy);
  if (by === 0) return copy.index;
  return { ...copy.index, size: copy.index.size + by, body: shiftPart(copy.index.body, by, true) };
}

/**
 * `blobs` as the copy's reader: reads of `copy.blobKey` take copy offsets and answer prefix +
 * blob bytes; reads of any other key pass through. Items without a prefix get `blobs` itself.
 */
export function copyReads<T extends BlobReads>(blobs: T, copy: Pick<CopyOfBlob, 'blobKey' | 'headerPrefix'>): T | BlobReads {
  const by = prefixOctets(copy);
  if (by === 0) return blobs;
  const prefix = Buffer.from(copy.headerPrefix!, 'latin1');
  const ownKey = copy.blobKey;
  return {
    getRange: async (key, start, end) => {
      if (key !== ownKey) return blobs.getRange(key, start, end);
      if (end <= start) return Buffer.alloc(0);
      const head = prefix.subarray(Math.min(start, by), Math.min(end, by));
      if (end <= by) return head;
      const tail = await blobs.getRange(key, Math.max(0, start - by), end - by);
      return head.length === 0 ? tail : Buffer.concat([head, tail]);
    },
    getStream: async (key, range) => {
      if (key !== ownKey) return blobs.getStream(key, range);
      const start = range?.start ?? 0;
      if (range && range.end <= by) return Readable.from([prefix.subarray(Math.min(start, by), range.end)]);
      if (range && start >= by) return blobs.getStream(key, { start: start - by, end: range.end - by });
      // Opened before the first byte goes out, so a store failure still fails the open; closed with the stream.
      const tail = await blobs.getStream(key, range ? { start: 0, end: range.end - by } : undefined);
      const head = prefix.subarray(start);
      async function* both() {
        yield head;
        yield* tail;
      }
      const out = Readable.from(both(), { objectMode: false });
      out.once('close', () => tail.destroy());
      return out;
    },
  };
}

/** The whole copy from the whole blob (export): prefix + blob. */
export function copyBytes(copy: Pick<CopyOfBlob, 'headerPrefix'>, blob: Buffer): Buffer {
  return prefixOctets(copy) === 0 ? blob : Buffer.concat([Buffer.from(copy.headerPrefix!, 'latin1'), blob]);
}
