// The parts of a FETCH response whose bytes come from the blob: how their length is known before
// they are read, and how they are read when their turn comes (mailbox-server/imap/commands/fetch.ts
// writes them). Shared by the BODY[] renderer (fetch-response.ts) and BINARY (fetch-binary.ts).
import type { Readable } from 'node:stream';

export interface BlobReader {
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  getStream(key: string, range: { start: number; end: number }): Promise<Readable>;
}

/**
 * A literal whose data comes from the blob: its octet count is known from the part map (and the
 * partial) before a byte is read, so `{n}` goes out first; `open` starts the read when the
 * literal is written, and the bytes follow as they arrive. A small one (`read` set) is read
 * whole into memory instead, and may be read before its turn.
 */
export class BlobLiteral {
  constructor(
    readonly length: number,
    readonly open: () => Promise<Readable>,
    readonly read: (() => Promise<Buffer>) | null = null,
  ) {}
}

/**
 * A literal computed from a read of the blob (HEADER.FIELDS): its length is known only once it
 * is read and filtered. `readOctets` bounds what the read holds in memory.
 */
export class ComputedLiteral {
  constructor(
    readonly readOctets: number,
    readonly compute: () => Promise<Buffer>,
    /** How the result is written: a literal, a literal8 (RFC 3516, NUL kept), or as it is (a number). */
    readonly form: 'literal' | 'literal8' | 'verbatim' = 'literal',
  ) {}
}

/** A FETCH response as written: bytes, with literal data read from the blob in between. */
export type FetchResponsePart = Buffer | BlobLiteral | ComputedLiteral;
