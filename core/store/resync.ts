// The incremental resynchronisation protocol between writers of a mailbox and the sessions that
// watch it (RFC 7162 §3.1 semantics at DynamoDB's costs): how long a writer may take to land a
// change after taking its mod-sequence, and when a reader may trust that nothing below lands any more.
// Writers use freshModSeq (core/store/messages.ts); readers keep a ModSeqWatermark
// (mailbox-server/mailbox-states.ts, one per open mailbox per task, shared by its sessions).

/**
 * A change to an existing message is written within this long of taking its mod-sequence, or it
 * takes a new one; readers wait a multiple of it (SETTLE_MS) before trusting that nothing below lands.
 */
export const MODSEQ_LAND_MS = 1000;

/**
 * How long after a reader saw highestModSeq reach M it keeps asking the index for changes at or
 * below M that it has not seen. Covers a writer between taking its modseq and writing its item
 * (bounded by MODSEQ_LAND_MS) plus the index's propagation lag (typically well under a second in
 * DynamoDB), three times over.
 */
export const SETTLE_MS = 3 * MODSEQ_LAND_MS;

/**
 * When a reader opens a mailbox, changes below the highest modseq then read may still be landing;
 * its first change queries look back this many modseqs (a bound on allocations in one mailbox
 * within the settle window) until the watermark can be trusted.
 */
export const OPEN_LOOKBACK = 256;

/**
 * The writer's side: a mod-sequence for a change to an existing message, taken again if the
 * allocation came back late, so the change reaches its item within MODSEQ_LAND_MS of being counted
 * in highestModSeq. Bounded: a store that is slow every time still gets its write (readers' margin is 3x).
 */
export async function freshModSeq(allocate: () => Promise<number>, now: () => number = Date.now): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const asked = now();
    const modSeq = await allocate();
    // The write follows at once; half the budget is left for it.
    if (now() - asked <= MODSEQ_LAND_MS / 2 || attempt >= 3) return modSeq;
  }
}

/** Tests: a clock and a settle time to simulate a lagging index without sleeping for seconds. */
export interface ResyncClock {
  readonly now?: () => number;
  readonly settleMs?: number;
}

/**
 * The reader's side. Every change to a message takes a fresh modseq from the mailbox item (an
 * atomic counter) and then writes the message item carrying it; new messages also take a UID,
 * visible only once uidNext passes it (invariant 3). A reader keeps:
 *   - `uidNext`: every UID below it is in its view (or known expunged);
 *   - the watermark W: every change with modseq <= W is reflected in its view;
 *   - checkpoints: highestModSeq values H seen at time t, not yet trusted.
 * A sync then does:
 *   1. GetItem of the mailbox item (strongly consistent): uidNext U, highestModSeq H. If U and H are
 *      as last seen and W = H, nothing changed: that one request is the whole cost.
 *   2. New messages: one strongly consistent Query of the base table for UIDs in [uidNext, U). Every
 *      UID below U already has its item, so EXISTS is complete and in order whatever the index says.
 *      This read is also where the modseqs of new messages are seen: a message unchanged since it
 *      was filed has no index entry (docs/decisions/0024-sparse-index-and-delivery-claims.md).
 *   3. Changes to known messages: one Query of the byModSeq index for modSeq > W. The index is
 *      eventually consistent: a change counted in H may be missing because its writer has not
 *      written yet, or the index has not caught up, or never (a modseq taken and abandoned, or
 *      superseded by a later change to the same message). So the answer is merged by taking, per
 *      UID, the state with the highest modseq (tombstones always win, expunge is final), and W moves
 *      only when it is safe:
 *        a. to K when every modseq in (W, K] has been seen (in either answer): modseqs are unique,
 *           so nothing at or below K can still arrive; this settles the common case at once;
 *        b. to a checkpoint H seen at t, once a query issued at t + SETTLE_MS or later has been
 *           applied: by then any change numbered <= H has landed and reached the index, or never will.
 *      Until then each sync asks again from W, which costs one small Query, not a re-read.
 * At open the full state is read; W starts at H - OPEN_LOOKBACK (changes numbered below H may still
 * be landing) and rule (a) usually lifts it at once.
 */
export class ModSeqWatermark {
  /** The highest modseq of the mailbox item as last read. */
  private highest: number;
  /** Every change numbered at or below this is reflected in the reader's view. */
  private watermark: number;
  /** highestModSeq values not yet trusted, with when they were read, oldest first. */
  private checkpoints: Array<{ readonly modSeq: number; readonly seenAt: number }> = [];
  private readonly now: () => number;
  private readonly settleMs: number;

  /** Opened on the mailbox's highestModSeq and the modseqs of the full state read with it. */
  constructor(highestModSeq: number, seen: readonly number[], clock: ResyncClock = {}) {
    this.now = clock.now ?? Date.now;
    this.settleMs = clock.settleMs ?? SETTLE_MS;
    this.highest = highestModSeq;
    // A new mailbox's counter starts at 1, so no change ever carries a modseq below 2.
    this.watermark = Math.max(1, highestModSeq - OPEN_LOOKBACK);
    this.checkpoints.push({ modSeq: highestModSeq, seenAt: this.now() });
    this.advance(seen, null);
  }

  get highestModSeq(): number {
    return this.highest;
  }

  /** Every change at or below this modseq is reflected. */
  get settled(): number {
    return this.watermark;
  }

  /** Changes numbered at or below highestModSeq may still be missing: ask the index from `settled`. */
  get behind(): boolean {
    return this.watermark < this.highest;
  }

  /** Step 1: the mailbox item's highestModSeq as just read. */
  observe(highestModSeq: number): void {
    if (highestModSeq <= this.highest) return;
    this.highest = highestModSeq;
    this.checkpoints.push({ modSeq: highestModSeq, seenAt: this.now() });
  }

  /** The time to record as `queriedAt` for a change query about to be sent. */
  queryTime(): number {
    return this.now();
  }

  /**
   * Rule (a): past every modseq seen without a hole; rule (b): past checkpoints read at least
   * settleMs before `queriedAt`, the time the change query whose answer was just applied was sent.
   */
  advance(seen: readonly number[], queriedAt: number | null): void {
    const above = new Set(seen.filter((m) => m > this.watermark));
    while (above.has(this.watermark + 1)) this.watermark += 1;
    if (queriedAt !== null) {
      while (this.checkpoints.length > 0 && this.checkpoints[0]!.seenAt + this.settleMs <= queriedAt) {
        this.watermark = Math.max(this.watermark, this.checkpoints.shift()!.modSeq);
      }
    }
    this.watermark = Math.min(this.watermark, this.highest);
    this.checkpoints = this.checkpoints.filter((c) => c.modSeq > this.watermark);
  }
}
