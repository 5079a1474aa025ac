// How many S3 reads may be in flight: per process, because the SDK's connection pool is finite
// (50 sockets per client by default) and a request waiting for a socket waits for everyone; and
// per session, so one client's command cannot take the process's share. Built once at the
// composition root and handed to every service that reads blobs.
import type { Readable } from 'node:stream';

/** The reads a mail-access session makes: a byte range into memory, or a stream of it. */
export interface BlobReads {
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  getStream(key: string, range?: { start: number; end: number }): Promise<Readable>;
}

/** A counting semaphore whose waiters are served in arrival order. */
export class ReadSlots {
  private inUse = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`read slots must be a positive integer, not ${max}`);
  }

  /** Reads in flight now. */
  get busy(): number {
    return this.inUse;
  }

  /** Reads waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free; release it exactly once (repeats are ignored). */
  async take(): Promise<() => void> {
    if (this.inUse < this.max) this.inUse += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      // Hand the slot straight to the next waiter, so a newcomer cannot overtake the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.inUse -= 1;
    };
  }
}

export interface BlobReadLimits {
  /** S3 reads in flight in the whole process (ranges and open streams). */
  readonly perProcess: number;
  /** S3 reads in flight for one session. */
  readonly perSession: number;
}

/**
 * 32: below the SDK's 50 sockets, leaving room for writes (APPEND) and tagging while reads queue.
 * 8 per session: streams are one at a time anyway (FETCH and RETR stream a large body when its
 * turn comes), so this bounds the reads that run ahead: small bodies of a multi-message FETCH or
 * of pipelined RETRs, and SEARCH BODY/TEXT's whole-message reads (with 2 those took 4-6 times as
 * long, with 8 as long as unbounded).
 */
export const DEFAULT_BLOB_READ_LIMITS: BlobReadLimits = { perProcess: 32, perSession: 8 };

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
   * The reads of one session: each takes a session slot, then a process slot (in that order, so
   * a session waiting for its own slot holds none of the process's). A range holds its slots
   * until it is read; a stream until it ends or is destroyed, so callers must do one or the other.
   */
  forSession(): BlobReads {
    const session = new ReadSlots(this.limits.perSession);
    const take = async () => {
      const releaseSession = await session.take();
      const releaseProcess = await this.process.take();
      return () => {
        releaseProcess();
        releaseSession();
      };
    };
    return {
      getRange: async (key, start, end) => {
        if (end <= start) return Buffer.alloc(0);
        const release = await take();
        try {
          return await this.blobs.getRange(key, start, end);
        } finally {
          release();
        }
      },
      getStream: async (key, range) => {
        const release = await take();
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
