// How many S3 reads may be in flight: per process, matched to the S3 client's connection pool
// (core/aws/client-options.ts), because a request waiting for a socket waits for everyone; and
// per session, bounded by the octets the reads will hold, so one client's command can have many
// small reads in flight (an S3 GET of a small object takes tens of milliseconds: throughput is
// reads in flight / latency) without its memory growing with the command, nor taking the
// process's share. Built once at the composition root and handed to every service that reads
// blobs (docs/decisions/0011-read-path.md).
import type { Readable } from 'node:stream';
import { S3_SOCKETS } from './aws/client-options.ts';

/** The reads a mail-access session makes: a byte range into memory, or a stream of it. */
export interface BlobReads {
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  getStream(key: string, range?: { start: number; end: number }): Promise<Readable>;
}

/**
 * A counting semaphore whose waiters are served in arrival order; each take weighs 1 unless
 * told otherwise. A take heavier than the whole capacity is granted when nothing else is held,
 * so it waits but never forever.
 */
export class ReadSlots {
  private inUse = 0;
  private readonly waiting: Array<{ readonly weight: number; readonly grant: () => void }> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`read slots must be a positive integer, not ${max}`);
  }

  /** Units held now (reads in flight, or their octets). */
  get busy(): number {
    return this.inUse;
  }

  /** Takes waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once `weight` units are free; release it exactly once (repeats are ignored). */
  async take(weight = 1): Promise<() => void> {
    const units = Math.max(0, weight);
    // Behind anyone already waiting, so a light newcomer cannot overtake a heavy one forever.
    if (this.waiting.length === 0 && this.fits(units)) this.inUse += units;
    else await new Promise<void>((grant) => this.waiting.push({ weight: units, grant }));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.inUse -= units;
      this.grantWaiting();
    };
  }

  private fits(units: number): boolean {
    return this.inUse === 0 || this.inUse + units <= this.max;
  }

  private grantWaiting(): void {
    for (let next = this.waiting[0]; next && this.fits(next.weight); next = this.waiting[0]) {
      this.waiting.shift();
      this.inUse += next.weight;
      next.grant();
    }
  }
}

export interface BlobReadLimits {
  /** S3 reads in flight in the whole process (ranges and open streams). */
  readonly perProcess: number;
  /** S3 reads in flight for one session. */
  readonly perSession: number;
  /**
   * Octets those reads may hold for one session: a range weighs its length, a stream
   * STREAM_WEIGHT_OCTETS (what it buffers, not what it carries). A range larger than this is
   * read alone.
   */
  readonly perSessionOctets: number;
}

/** What an open stream is counted as: about one buffered chunk of the S3 response, whatever its length. */
export const STREAM_WEIGHT_OCTETS = 64 * 1024;

/**
 * Per process: three quarters of the S3 client's sockets (S3_SOCKETS, 256), the rest left for
 * writes (APPEND's PUT, tagging) so they never queue behind reads. Per session: 1 MiB, the same
 * bound as the body data a command may read ahead (core/read-ahead.ts), and at most 64 reads: at
 * S3's ~30 ms per small GET that is up to ~2,000 small bodies a second for one session, while 3
 * sessions reading at full speed still leave the process room for others.
 */
export const DEFAULT_BLOB_READ_LIMITS: BlobReadLimits = { perProcess: (S3_SOCKETS * 3) / 4, perSession: 64, perSessionOctets: 1024 * 1024 };

export class BlobReadBudget {
  private readonly process: ReadSlots;

  constructor(
    private readonly blobs: BlobReads,
    readonly limits: BlobReadLimits = DEFAULT_BLOB_READ_LIMITS,
  ) {
    this.process = new ReadSlots(limits.perProcess);
  }

  /** Reads in flight in the process now. */
  get busy(): number {
    return this.process.busy;
  }

  /** Reads waiting for one of the process's slots. */
  get queued(): number {
    return this.process.queued;
  }

  /**
   * The reads of one session: each takes its octets and a read of the session's budget, then a
   * process slot (in that order, so a session waiting for its own budget holds none of the
   * process's). A range holds its slots until it is read; a stream until it ends or is
   * destroyed, so callers must do one or the other.
   */
  forSession(): BlobReads {
    const sessionReads = new ReadSlots(this.limits.perSession);
    const sessionOctets = new ReadSlots(this.limits.perSessionOctets);
    const take = async (octets: number) => {
      const releaseOctets = await sessionOctets.take(octets);
      const releaseRead = await sessionReads.take();
      const releaseProcess = await this.process.take();
      return () => {
        releaseProcess();
        releaseRead();
        releaseOctets();
      };
    };
    return {
      getRange: async (key, start, end) => {
        if (end <= start) return Buffer.alloc(0);
        const release = await take(end - start);
        try {
          return await this.blobs.getRange(key, start, end);
        } finally {
          release();
        }
      },
      getStream: async (key, range) => {
        const release = await take(range ? Math.min(range.end - range.start, STREAM_WEIGHT_OCTETS) : STREAM_WEIGHT_OCTETS);
        let stream: Readable;
        try {
          stream = await this.blobs.getStream(key, range);
        } catch (err) {
          release();
          throw err;
        }
        stream.once('end', release).once('error', release).once('close', release);
        if (stream.destroyed || stream.readableEnded) release();
        return stream;
      },
    };
  }
}
