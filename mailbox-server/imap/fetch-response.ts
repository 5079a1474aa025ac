// Renders FETCH data items (RFC 3501 §7.4.2) for one message from its stored item: metadata from
// the item, ENVELOPE/BODYSTRUCTURE from the MIME index, BODY[section]<partial> by ranged reads of
// the blob through the part map (core/mime sectionRange), never by re-parsing the message.
// Body data is not read here: each literal carries how to read it. Large ones are streamed when
// their turn to be written comes; small ones may be read ahead by the command, within its bounds.
import { Readable } from 'node:stream';
import { copyIndex, copyReads } from '../../core/header-prefix.ts';
import type { MessageItem, MessageState } from '../../core/store/types.ts';
import { sectionRange, type ByteRange, type SectionSpec } from '../../core/mime/index.ts';
import { previewPart, previewRange, previewText } from '../../core/mime/preview.ts';
import { emailId } from './object-id.ts';
import type { FetchAttribute, Section } from './wire/ast.ts';
import { binarySizeValue, binaryValue } from './fetch-binary.ts';
import { BlobLiteral, ComputedLiteral, type BlobReader, type FetchResponsePart } from './fetch-literals.ts';
export { BlobLiteral, ComputedLiteral, type BlobReader, type FetchResponsePart } from './fetch-literals.ts';
import { atom, bodyNonExtensibleValue, bodyStructureValue, envelopeValue, Literal, serialize, type ImapValue } from './wire/writer.ts';

type BodyAttribute = Extract<FetchAttribute, { kind: 'BODY[]' }>;


const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE, in UTC. */
export function formatInternalDate(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCDate()).padStart(2, ' ')}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The section as echoed in the response: BODY[1.2.HEADER.FIELDS (From To)]. */
function sectionName(section: Section): string {
  const parts = section.part.join('.');
  if (!section.text) return parts;
  const text = section.text.kind === 'HEADER.FIELDS' ? `HEADER.FIELDS${section.text.not ? '.NOT' : ''} (${section.text.fields.join(' ')})` : section.text.kind;
  return parts ? `${parts}.${text}` : text;
}

function specOf(section: Section): SectionSpec {
  const text = section.text;
  const kind = !text ? 'body' : text.kind === 'TEXT' ? 'text' : text.kind === 'MIME' ? 'mime' : 'header';
  return { part: section.part, kind };
}

/** Keeps (or drops, for .NOT) the named fields of a header block; ends with the blank line (RFC 3501 §6.4.5). */
export function filterHeaderFields(header: Buffer, fields: readonly string[], not: boolean): Buffer {
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const out: string[] = [];
  let keep = false;
  for (const line of header.toString('latin1').split(/(?<=\n)/)) {
    if (line === '\r\n' || line === '\n' || line === '') break;
    if (line[0] !== ' ' && line[0] !== '\t') {
      const colon = line.indexOf(':');
      keep = wanted.has((colon === -1 ? line : line.slice(0, colon)).trim().toLowerCase()) !== not;
    }
    if (keep) out.push(line.endsWith('\n') ? line : `${line}\r\n`);
  }
  return Buffer.from(`${out.join('')}\r\n`, 'latin1');
}

/**
 * Sections up to this size are read in one ranged GET into memory (the S3 connection is free again
 * at once, whatever the client's pace); larger ones are streamed, paced by the client.
 */
export const STREAM_ABOVE_OCTETS = 64 * 1024;
/**
 * HEADER.FIELDS filters the header block in memory, so only its first this-many octets are read:
 * a real header is a few KiB, and a hostile one of megabytes must not cost that much per FETCH.
 * Fields past the cap are not seen (the answer is what a server with this header limit stores).
 */
export const MAX_FILTERED_HEADER_OCTETS = 256 * 1024;


/** Bytes [start, end) of the blob: small ones read whole, larger ones as a stream when written. */
function blobValue(blobs: BlobReader, key: string, start: number, end: number): Literal | BlobLiteral {
  if (end <= start) return new Literal(Buffer.alloc(0));
  if (end - start <= STREAM_ABOVE_OCTETS) {
    const read = () => blobs.getRange(key, start, end);
    return new BlobLiteral(end - start, async () => Readable.from([await read()]), read);
  }
  return new BlobLiteral(end - start, () => blobs.getStream(key, { start, end }));
}

/**
 * The blob reader of one response: items of one message naming the same range (several
 * HEADER.FIELDS of the header block, BODY[] twice) share one read.
 */
function readOnce(blobs: BlobReader): BlobReader {
  const reads = new Map<string, Promise<Buffer>>();
  return {
    getRange(key, start, end) {
      const id = `${start}-${end} ${key}`;
      let read = reads.get(id);
      if (!read) {
        read = blobs.getRange(key, start, end);
        reads.set(id, read);
      }
      return read;
    },
    getStream: (key, range) => blobs.getStream(key, range),
  };
}

/** BODY[section]<partial>: one ranged read of the blob through the part map (HEADER.FIELDS filters a capped read). */
function sectionValue(blobs: BlobReader, message: MessageItem, attribute: Pick<BodyAttribute, 'section' | 'partial'>): Literal | BlobLiteral | ComputedLiteral {
  const range: ByteRange | null = sectionRange(message.index, specOf(attribute.section));
  if (!range) return new Literal(Buffer.alloc(0));
  const partial = attribute.partial;
  const text = attribute.section.text;
  if (text?.kind === 'HEADER.FIELDS') {
    const readEnd = Math.min(range.end, range.start + MAX_FILTERED_HEADER_OCTETS);
    return new ComputedLiteral(readEnd - range.start, async () => {
      let header = await blobs.getRange(message.blobKey, range.start, readEnd);
      // Cut at the last whole line, so a field split by the cap is not half-matched.
      if (range.end - range.start > MAX_FILTERED_HEADER_OCTETS) header = header.subarray(0, header.lastIndexOf(0x0a) + 1);
      const filtered = filterHeaderFields(header, text.fields, text.not);
      return partial ? filtered.subarray(partial.offset, partial.offset + partial.length) : filtered;
    });
  }
  if (!partial) return blobValue(blobs, message.blobKey, range.start, range.end);
  // RFC 3501 §6.4.5: a partial past the end gives an empty string, one running past it is cut short.
  const start = Math.min(range.end, range.start + partial.offset);
  return blobValue(blobs, message.blobKey, start, Math.min(range.end, start + partial.length));
}

/** RFC 8970 §3 preview of the first text part (core/mime/preview.ts); "" when there is none. */
function previewValue(blobs: BlobReader, message: MessageItem): Literal | ComputedLiteral {
  const part = previewPart(message.index.body);
  if (!part) return new Literal(Buffer.alloc(0));
  const range = previewRange(part);
  return new ComputedLiteral(range.end - range.start, async () => Buffer.from(previewText(part, await blobs.getRange(message.blobKey, range.start, range.end)), 'utf8'));
}

export interface RenderOptions {
  readonly uid: boolean;
  readonly modseq: boolean;
  /** The session's account (EMAILID is derived with it). */
  readonly account: string;
}

/** Items answered from the message state alone, without the stored item (its MIME index). */
const stateOnly = new Set<FetchAttribute['kind']>(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ', 'THREADID']);

export const needsMessageItem = (attributes: readonly FetchAttribute[]) => attributes.some((a) => !stateOnly.has(a.kind));

/** The parenthesised list of one FETCH response; `state` carries the flags after any implicit \Seen. Reads nothing. */
export function renderFetch(
  sessionBlobs: BlobReader,
  state: MessageState,
  /** The stored item; needed unless every attribute is answered from the state. */
  item: MessageItem | null,
  attributes: readonly FetchAttribute[],
  options: RenderOptions,
): FetchResponsePart[] {
  // The copy as served: its header prefix, if any, before the blob, offsets shifted to match
  // (core/header-prefix.ts); everything below reads copy offsets.
  const message = item ? { ...item, index: copyIndex(item) } : ({ ...state, blobKey: '', index: null } as unknown as MessageItem);
  const blobs = readOnce(item ? copyReads(sessionBlobs, item) : sessionBlobs);
  const { flags, modSeq } = state;
  const items: Array<readonly [string, ImapValue | BlobLiteral | ComputedLiteral]> = [];
  const push = (name: string, value: ImapValue | BlobLiteral | ComputedLiteral) => items.push([name, value]);
  const kinds = new Set(attributes.map((a) => a.kind));
  // RFC 3501 §6.4.8: UID FETCH responses always include UID; RFC 7162 §3.2.4: MODSEQ with CONDSTORE.
  if (options.uid && !kinds.has('UID')) push('UID', message.uid);
  for (const attribute of attributes) {
    switch (attribute.kind) {
      case 'UID':
        push('UID', message.uid);
        break;
      case 'FLAGS':
        push('FLAGS', flags.map(atom));
        break;
      case 'INTERNALDATE':
        push('INTERNALDATE', formatInternalDate(message.internalDate));
        break;
      case 'RFC822.SIZE':
        push('RFC822.SIZE', message.size);
        break;
      case 'MODSEQ':
        push('MODSEQ', [modSeq]);
        break;
      // RFC 8514 §4.1: NIL when the item was stored without a save date.
      case 'SAVEDATE':
        push('SAVEDATE', message.savedAt ? formatInternalDate(message.savedAt) : null);
        break;
      // RFC 8474 §5.1, §5.2 (./object-id.ts).
      case 'EMAILID':
        push('EMAILID', [atom(emailId(options.account, message.blobKey))]);
        break;
      case 'THREADID':
        push('THREADID', null);
        break;
      // RFC 8970 §3: computed now, from one bounded read, so LAZY changes nothing.
      case 'PREVIEW':
        push('PREVIEW', previewValue(blobs, message));
        break;
      case 'ENVELOPE':
        push('ENVELOPE', envelopeValue(message.index.envelope));
        break;
      case 'BODYSTRUCTURE':
        push('BODYSTRUCTURE', bodyStructureValue(message.index.body));
        break;
      case 'BODY':
        push('BODY', bodyNonExtensibleValue(message.index.body));
        break;
      case 'RFC822':
        push('RFC822', sectionValue(blobs, message, { section: { part: [], text: null }, partial: null }));
        break;
      case 'RFC822.HEADER':
        push('RFC822.HEADER', sectionValue(blobs, message, { section: { part: [], text: { kind: 'HEADER' } }, partial: null }));
        break;
      case 'RFC822.TEXT':
        push('RFC822.TEXT', sectionValue(blobs, message, { section: { part: [], text: { kind: 'TEXT' } }, partial: null }));
        break;
      case 'BINARY[]':
        push(`BINARY[${attribute.part.join('.')}]${attribute.partial ? `<${attribute.partial.offset}>` : ''}`, binaryValue(blobs, message, attribute.part, attribute.partial));
        break;
      case 'BINARY.SIZE':
        push(`BINARY.SIZE[${attribute.part.join('.')}]`, binarySizeValue(blobs, message, attribute.part));
        break;
      case 'BODY[]': {
        const name = `BODY[${sectionName(attribute.section)}]${attribute.partial ? `<${attribute.partial.offset}>` : ''}`;
        push(name, sectionValue(blobs, message, attribute));
        break;
      }
    }
  }
  if (options.modseq && !kinds.has('MODSEQ')) push('MODSEQ', [modSeq]);
  // msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP ...) ")"; a literal read from the blob splits the bytes.
  const parts: FetchResponsePart[] = [];
  let pending: Buffer[] = [Buffer.from('(')];
  items.forEach(([name, value], i) => {
    pending.push(Buffer.from(`${i > 0 ? ' ' : ''}${name} `, 'latin1'));
    if (value instanceof BlobLiteral) {
      pending.push(Buffer.from(`{${value.length}}\r\n`));
      parts.push(Buffer.concat(pending), value);
      pending = [];
    } else if (value instanceof ComputedLiteral) {
      parts.push(Buffer.concat(pending), value);
      pending = [];
    } else {
      pending.push(serialize(value));
    }
  });
  pending.push(Buffer.from(')'));
  parts.push(Buffer.concat(pending));
  return parts;
}
