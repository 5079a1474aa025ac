// Message bytes this task has read from S3, kept in memory for the next session that asks: a
// least-recently-used cache bounded by bytes. Blobs are immutable (written once, never
// rewritten), so an entry is never stale and nothing invalidates it. Built once at the
// composition root and shared by every IMAP and POP3 session of the process. A range inside one
// held from the blob's start (a whole message, read by FETCH BODY[] or the prefetch of new
// messages) is answered from it: a message's header block, text and parts are such ranges.
import { Readable } from 'node:stream';
import type { BlobReads } from './blob-read-budget.ts';

export interface BodyCacheLimits {
  /** Bytes of cached bodies in the whole process. */
  readonly maxBytes: number;
  /** Larger ranges are not kept (they are streamed, and would push out many small ones). */
  readonly maxEntryBytes: number;
}

/** 64 MiB of a 512 MiB task; ranges up to 64 KiB, the size FETCH still reads into memory. */
export const DEFAULT_BODY_CACHE_LIMITS: BodyCacheLimits = { maxBytes: 64 * 1024 * 1024, maxEntryBytes: 64 * 1024 };

const rangeKey = (key: string, start: number, end: number) => `${start}-${end} ${key}`;

export class BodyCache {
  /** Map iteration order is insertion order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Buffer>();
  private held = 0;
  /** For each blob key, the end of the longest range held that starts at 0. */
  private readonly fromStart = new Map<string, number>();
  /** Reads in flight, so two sessions asking for the same range make one request. */
  private readonly reading = new Map<string, Promise<Buffer>>();

  constructor(readonly limits: BodyCacheLimits = DEFAULT_BODY_CACHE_LIMITS) {
    if (!(limits.maxBytes >= 0) || !(limits.maxEntryBytes >= 0)) throw new RangeError('body cache limits must be non-negative');
  }

  /** Bytes held now (never above limits.maxBytes). */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Bytes [start, end) of `key` if held, or inside a range held from the blob's start; a hit
   * makes the entry the most recently used.
   */
  get(key: string, start: number, end: number): Buffer | undefined {
    const exact = this.touch(rangeKey(key, start, end));
    if (exact) return exact;
    const heldEnd = this.fromStart.get(key);
    if (heldEnd === undefined || start < 0 || end > heldEnd) return undefined;
    return this.touch(rangeKey(key, 0, heldEnd))?.subarray(start, end);
  }

  private touch(id: string): Buffer | undefined {
    const data = this.entries.get(id);
    if (!data) return undefined;
    this.entries.delete(id);
    this.entries.set(id, data);
    return data;
  }

  private forget(id: string, data: Buffer): void {
    this.entries.delete(id);
    this.held -= data.length;
    // rangeKey's form: "start-end key".
    const space = id.indexOf(' ');
    const [start, end] = id.slice(0, space).split('-').map(Number);
    const key = id.slice(space + 1);
    if (start === 0 && this.fromStart.get(key) === end) this.fromStart.delete(key);
  }

  /** Keeps the bytes, evicting the least recently used until they fit; too large a range is not kept. */
  set(key: string, start: number, end: number, data: Buffer): void {
    if (data.length > this.limits.maxEntryBytes || data.length > this.limits.maxBytes) return;
    const id = rangeKey(key, start, end);
    const old = this.entries.get(id);
    if (old) this.forget(id, old);
    for (const [oldest, bytes] of this.entries) {
      if (this.held + data.length <= this.limits.maxBytes) break;
      this.forget(oldest, bytes);
    }
    this.entries.set(id, data);
    this.held += data.length;
    if (start === 0 && end > (this.fromStart.get(key) ?? 0)) this.fromStart.set(key, end);
  }

  /**
   * `reads` (one session's, within its read budget) with this cache in front: a range held is
   * answered without a request or a budget slot; one read is kept. A stream of a held range is
   * served from memory; others go to `reads` untouched.
   */
  over(reads: BlobReads): BlobReads {
    return {
      getRange: async (key, start, end) => {
        if (end <= start) return Buffer.alloc(0);
        const held = this.get(key, start, end);
        if (held) return held;
        if (end - start > this.limits.maxEntryBytes) return reads.getRange(key, start, end);
        const id = rangeKey(key, start, end);
        const inFlight = this.reading.get(id);
        if (inFlight) return inFlight;
        const read = reads.getRange(key, start, end).then((data) => {
          this.set(key, start, end, data);
          return data;
        });
        this.reading.set(id, read);
        try {
          return await read;
        } finally {
          this.reading.delete(id);
        }
      },
      getStream: async (key, range) => {
        const held = range ? this.get(key, range.start, range.end) : undefined;
        return held ? Readable.from([held]) : reads.getStream(key, range);
      },
    };
  }
}
