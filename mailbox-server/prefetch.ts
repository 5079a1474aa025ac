// Reads new small messages into the task's body cache as soon as a sync of an open mailbox finds
// them, so the FETCH of the session told of them (IDLE, NOOP, any command's EXISTS) is answered
// from memory (docs/decisions/0011-read-path.md, "Prefetch of new messages"). Only a hint: bounded,
// in the background, failures ignored.
import { ReadSlots, type BlobReadBudget, type BlobReads } from '../core/blob-read-budget.ts';
import type { BodyCache } from '../core/body-cache.ts';
import { copyIndex, copyReads, prefixOctets } from '../core/header-prefix.ts';
import { sectionRange, type ByteRange } from '../core/mime/index.ts';
import type { MessageItem } from '../core/store/types.ts';
import type { NewMessages } from './mailbox-states.ts';

export interface PrefetchLimits {
  /** New messages of one sync prefetched at most (the lowest UIDs, which a FETCH reads first); 0 turns prefetch off. */
  readonly perSync: number;
  /** Prefetch requests (item loads and body reads) in flight at once, for the whole task. */
  readonly inFlight: number;
  /** Messages accepted and not yet read, for the whole task; news beyond it is not prefetched. */
  readonly queued: number;
}

/**
 * 32 a sync: a client told of a burst of thousands gets its first screenful from memory, and the
 * burst costs at most 32 GETs and 2 MiB of the cache (64 KiB entries) per sync. 4 in flight: a
 * fiftieth of the process's 192 S3 reads, so a session's own reads barely queue behind them.
 * 256 queued: at most 16 MiB of bodies on their way into a 64 MiB cache.
 */
export const DEFAULT_PREFETCH_LIMITS: PrefetchLimits = { perSync: 32, inFlight: 4, queued: 256 };

/** What a prefetch did, for tests and diagnostics. */
export interface PrefetchCounts {
  /** Bodies read into the cache (or found there already). */
  readonly read: number;
  /** New messages not read: too large for the cache, over a bound, or found gone. */
  readonly skipped: number;
  /** Item loads or body reads that failed (ignored: the FETCH reads as it would have). */
  readonly failed: number;
}

/**
 * The blob range a FETCH of the whole message reads (BODY[], BODY.PEEK[], RFC822:
 * imap/fetch-response.ts), in the copy's offsets, with the header prefix of a junk copy in front
 * (core/header-prefix.ts); null when the cache would not keep the blob bytes behind it.
 */
export function wholeMessageRange(item: MessageItem, maxEntryBytes: number): ByteRange | null {
  const range = sectionRange(copyIndex(item), { part: [], kind: 'body' });
  if (!range || range.end <= range.start) return null;
  return range.end - range.start - prefixOctets(item) <= maxEntryBytes ? range : null;
}

/**
 * The task's prefetch of new messages, built at the composition root (mailbox-server/main.ts) and
 * handed to MailboxStates as its listener (`newMessages`). One per task, like the body cache.
 */
export class NewMessagePrefetch {
  private readonly slots: ReadSlots;
  private readonly reads: BlobReads;
  readonly limits: PrefetchLimits;
  private accepted = 0;
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  private readonly tally = { read: 0, skipped: 0, failed: 0 };

  constructor(
    private readonly cache: BodyCache,
    blobReads: BlobReadBudget,
    limits: Partial<PrefetchLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PREFETCH_LIMITS, ...limits };
    this.slots = new ReadSlots(Math.max(1, this.limits.inFlight));
    // A session budget of its own, and the process's slots like any session: the cache in front,
    // so a session's FETCH of a message being prefetched joins that read.
    this.reads = cache.over(blobReads.forSession());
  }

  get counts(): PrefetchCounts {
    return { ...this.tally };
  }

  /** The listener for MailboxStates: returns at once, the reads run in the background. */
  readonly newMessages = (found: NewMessages): void => {
    if (this.closed || this.limits.perSync <= 0 || this.cache.limits.maxBytes === 0) return;
    const room = Math.max(0, Math.min(this.limits.perSync, this.limits.queued - this.accepted));
    const uids = found.states.slice(0, room).map((state) => state.uid);
    this.tally.skipped += found.states.length - uids.length;
    if (uids.length === 0) return;
    this.accepted += uids.length;
    const job = this.prefetch(found, uids)
      .catch(() => {
        this.tally.failed += 1; // an item it could not make sense of: a hint lost, nothing more
      })
      .finally(() => {
        this.accepted -= uids.length;
        this.running.delete(job);
      });
    this.running.add(job);
  };

  /** Resolves when no prefetch is running (tests; the drain before the clients go). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** The task is closing: nothing new starts; reads already sent finish (see settled). */
  close(): void {
    this.closed = true;
  }

  private async prefetch(found: NewMessages, uids: readonly number[]): Promise<void> {
    const items = await this.inSlot(() => found.loadItems(uids));
    if (!items) {
      if (!this.closed) this.tally.failed += 1;
      this.tally.skipped += uids.length;
      return;
    }
    const live = items.filter((item) => !item.expunged);
    this.tally.skipped += uids.length - live.length;
    await Promise.all(
      live.map(async (item) => {
        const range = wholeMessageRange(item, this.cache.limits.maxEntryBytes);
        if (!range) {
          this.tally.skipped += 1;
          return;
        }
        // The very call the FETCH makes, so the cache holds the key and range it will ask for.
        const body = await this.inSlot(() => copyReads(this.reads, item).getRange(item.blobKey, range.start, range.end));
        if (body) this.tally.read += 1;
        else if (!this.closed) this.tally.failed += 1;
        else this.tally.skipped += 1;
      }),
    );
  }

  /** `run` within the prefetch's slots, unless the task closed meanwhile; undefined if it failed or did not run. */
  private async inSlot<T>(run: () => Promise<T>): Promise<T | undefined> {
    const release = await this.slots.take();
    try {
      if (this.closed) return undefined;
      return await run();
    } catch {
      return undefined;
    } finally {
      release();
    }
  }
}
