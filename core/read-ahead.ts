// Reads started before their turn, so a command that writes many bodies one after another waits
// for one S3 round trip, not one per body. Reads start in the order they were scheduled; their
// results are held until taken, and what is held (started and not yet taken) stays within a byte
// bound and a count, so memory does not grow with the size of the command. How many run at once
// is still the session's read budget (core/blob-read-budget.ts): reads beyond it wait there.

export interface ReadAheadLimits {
  /** Octets of reads started and not yet taken; the next read starts only if it fits (or nothing is held). */
  readonly maxOctets: number;
  /** Reads started and not yet taken. */
  readonly maxReads: number;
}

/**
 * What one command of a session (a FETCH of many messages, the RETRs pipelined behind one) may
 * read ahead: 1 MiB, the session's octets in flight (core/blob-read-budget.ts), so a client that
 * stops reading makes its session hold at most 1 MiB of bodies; at 10 KB a body that is about
 * 100 reads, enough to keep the session's 64 reads in flight busy. The count only bounds the
 * bookkeeping of many tiny reads.
 */
export const SESSION_READ_AHEAD: ReadAheadLimits = { maxOctets: 1024 * 1024, maxReads: 256 };

/** One scheduled read: take its result when its turn comes, or drop it if it will not come. */
export interface ScheduledRead {
  /** The read's result (starting it now if it has not started); once. */
  take(): Promise<Buffer>;
  /** Gives up its share of the bound without starting it (a started read finishes unseen). */
  drop(): void;
}

interface Scheduled {
  readonly octets: number;
  readonly read: () => Promise<Buffer>;
  result: Promise<Buffer> | null;
  taken: boolean;
}

export class ReadAhead {
  private readonly pending: Scheduled[] = [];
  private heldOctets = 0;
  private heldReads = 0;
  private stopped = false;

  constructor(readonly limits: ReadAheadLimits) {}

  /** Octets held now (started, not taken). */
  get octets(): number {
    return this.heldOctets;
  }

  /**
   * Adds a read of at most `octets` octets at the end of the line. Take or drop each, in any
   * order: an untaken read keeps its share of the bound until then (or until `stop`).
   */
  schedule(octets: number, read: () => Promise<Buffer>): ScheduledRead {
    const entry: Scheduled = { octets, read, result: null, taken: false };
    this.pending.push(entry);
    this.pump();
    const settle = (): Promise<Buffer> | null => {
      if (entry.taken) throw new Error('a read-ahead result is taken once');
      entry.taken = true;
      const index = this.pending.indexOf(entry);
      if (index !== -1) this.pending.splice(index, 1);
      const started = entry.result;
      if (started) {
        this.heldOctets -= entry.octets;
        this.heldReads -= 1;
        this.pump();
      }
      return started;
    };
    return {
      take: () => settle() ?? entry.read(),
      drop: () => void settle(),
    };
  }

  /** Starts nothing more (the command failed or the client left); reads in flight finish unseen. */
  stop(): void {
    this.stopped = true;
    this.pending.length = 0;
  }

  private pump(): void {
    for (const entry of this.pending) {
      if (this.stopped) return;
      if (entry.result) continue;
      const fits = this.heldReads === 0 || (this.heldReads < this.limits.maxReads && this.heldOctets + entry.octets <= this.limits.maxOctets);
      if (!fits) return;
      entry.result = entry.read();
      // Its failure is reported to whoever takes it; until then it must not count as unhandled.
      entry.result.catch(() => undefined);
      this.heldOctets += entry.octets;
      this.heldReads += 1;
    }
  }
}
