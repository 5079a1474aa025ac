// A session's view of its selected mailbox: the UIDs as last announced to the client (so message
// sequence numbers stay consistent, RFC 3501 §2.3.1.2), and the resynchronisation with the store
// that yields untagged EXISTS / RECENT / EXPUNGE / FETCH FLAGS at the points the session allows (§5.2,
// §7.4.1). \Recent (§2.3.2) is per session: a read-write view claims the new UIDs it is first to see
// (core/store/recent.ts); a read-only one shows as recent what nobody has claimed, claiming nothing.
import { ModSeqWatermark, type ResyncClock } from '../../core/store/resync.ts';
import { FIRST_UID, type RecentClaim } from '../../core/store/recent.ts';
import type { Mailbox, MessageState, MessageStore } from '../../core/store/types.ts';
import type { MailboxMark } from './mailbox-poller.ts';
import { compactSequenceSet } from './sequence-set.ts';
import { atom, statusLine, untagged, type ImapValue } from './wire/writer.ts';

/** RFC 3501 §2.3.2 system flags a client may set (\Recent is the server's). */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export interface SyncOptions {
  /** RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH (UID forms excepted). */
  readonly allowExpunge: boolean;
  /** RFC 7162 §3.2: with CONDSTORE enabled, FETCH responses carry MODSEQ. */
  readonly condstore: boolean;
  /** RFC 7162 §3.2.10: with QRESYNC enabled, expunges are announced as VANISHED, not EXPUNGE. */
  readonly qresync?: boolean;
}

/** Tests: a clock and a settle time to simulate a lagging index without sleeping for seconds. */
export type ViewClock = ResyncClock;

/**
 * Incremental resynchronisation (RFC 3501 §5.2 / RFC 7162 §3.1): the protocol and its watermark
 * are core/store/resync.ts; this class keeps the client's numbering and merges what the store answers.
 */
export class MailboxView {
  /** UIDs in message sequence order as the client knows them: msn = index + 1. */
  private uids: number[];
  /** RFC 5182 §2.1 search result variable, as UIDs; a new view (SELECT, EXAMINE) starts empty. */
  savedSearch: ReadonlySet<number> = new Set();
  /** Last known state of each UID in `uids` (an expunged one keeps its last state until announced). */
  private readonly states = new Map<number, MessageState>();
  /** UIDs that are \Recent in this session (RFC 3501 §2.3.2); shown in their flags, never stored. */
  private readonly recent = new Set<number>();
  /** False for an IMAP4rev2 session (RFC 9051 has no \Recent): it claims none and shows none. */
  private showsRecent = true;
  /** Keywords the client has been told of in FLAGS (RFC 3501 §7.2.6): none may show before it is. */
  private readonly keywords = new Set<string>();
  /** The RECENT count last told to the client. */
  private announcedRecent: number;
  /** Expunged in the store, not yet announced to this client. */
  private readonly pendingExpunge = new Set<number>();
  private uidNext: number;
  /** highestModSeq as last read (what HIGHESTMODSEQ reports) and how far the view is settled. */
  private readonly watermark: ModSeqWatermark;
  /** The last sync found the mailbox deleted. */
  private gone = false;

  private constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    states: MessageState[],
    recent: (uid: number) => boolean,
    clock: ViewClock,
  ) {
    const live = states.filter((s) => !s.expunged);
    this.uids = live.map((s) => s.uid);
    for (const s of live) if (recent(s.uid)) this.recent.add(s.uid);
    for (const s of live) this.states.set(s.uid, this.withRecent(s));
    for (const s of live) for (const flag of s.flags) if (!flag.startsWith('\\')) this.keywords.add(flag);
    this.announcedRecent = this.recent.size;
    this.uidNext = mailbox.uidNext;
    this.watermark = new ModSeqWatermark(mailbox.highestModSeq, states.map((s) => s.modSeq), clock);
  }

  /** Reads the mailbox item first, then the messages below its uidNext (a gap-free prefix, invariant 3). */
  static async open(store: MessageStore, mailbox: Mailbox, readOnly: boolean, clock: ViewClock = {}): Promise<MailboxView> {
    const [states, recent] = await Promise.all([store.listMessageStates(mailbox.id, mailbox.uidNext), MailboxView.recentAtOpen(store, mailbox, readOnly)]);
    return MailboxView.fromStates(mailbox, readOnly, states, clock, recent);
  }

  /** A view over states read as `open` reads them (tombstones included), for a caller that needs them too (QRESYNC). */
  static fromStates(mailbox: Mailbox, readOnly: boolean, states: MessageState[], clock: ViewClock = {}, recent: ((uid: number) => boolean) | null = () => false): MailboxView {
    const view = new MailboxView(mailbox, readOnly, states, recent ?? (() => false), clock);
    // null: a session without \Recent (IMAP4rev2), which must not claim it from others either.
    view.showsRecent = recent !== null;
    return view;
  }

  /**
   * Which UIDs are \Recent to a view opened now: a read-write one claims what nobody has; EXAMINE
   * must not take \Recent away (RFC 3501 §6.3.2), so it shows what is unclaimed, as it is.
   */
  static async recentAtOpen(store: MessageStore, mailbox: Mailbox, readOnly: boolean): Promise<(uid: number) => boolean> {
    if (readOnly) return (uid) => uid >= (mailbox.recentUpTo ?? FIRST_UID);
    const claim = await MailboxView.claimRecent(store, mailbox, mailbox.uidNext);
    return (uid) => uid >= claim.from && uid < claim.to;
  }

  /**
   * A claim that fails (throttled, store down) loses nothing but the flag: those messages are
   * recent to no session, which RFC 3501 §2.3.2 tolerates better than a SELECT that fails.
   */
  private static async claimRecent(store: MessageStore, mailbox: Mailbox, upTo: number): Promise<RecentClaim> {
    const none = { from: upTo, to: upTo };
    if (!store.claimRecent) return none;
    return store.claimRecent(mailbox.account, mailbox.id, upTo).catch(() => none);
  }

  /** The state as this session shows it: \Recent added to the flags of its recent messages. */
  private withRecent(state: MessageState): MessageState {
    if (!this.recent.has(state.uid) || state.flags.includes('\\Recent')) return state;
    // After the system flags, before the keywords, where Dovecot puts it too.
    const system = state.flags.filter((f) => f.startsWith('\\'));
    return { ...state, flags: [...system, '\\Recent', ...state.flags.filter((f) => !f.startsWith('\\'))] };
  }

  /**
   * RFC 3501 §7.2.6 FLAGS and §7.1 PERMANENTFLAGS: the system flags and every keyword the client
   * knows of; \* (new keywords allowed) unless read-only, where nothing is permanent.
   */
  flagListResponses(): Buffer[] {
    const flags = [...SYSTEM_FLAGS, ...[...this.keywords].sort()];
    return [
      untagged(atom('FLAGS'), flags.map(atom)),
      statusLine(null, 'OK', 'Flags permitted', `PERMANENTFLAGS (${this.readOnly ? '' : [...flags, '\\*'].join(' ')})`),
    ];
  }

  /**
   * The updated FLAGS and PERMANENTFLAGS to send before any FETCH that shows one of `flagLists`'
   * keywords the client has not been told of (RFC 3501 §7.2.6); none when all are known.
   */
  announceKeywords(flagLists: Iterable<readonly string[]>): Buffer[] {
    let grew = false;
    for (const flags of flagLists) {
      for (const flag of flags) {
        if (flag.startsWith('\\') || this.keywords.has(flag)) continue;
        this.keywords.add(flag);
        grew = true;
      }
    }
    return grew ? this.flagListResponses() : [];
  }

  /** Messages \Recent in this session (RFC 3501 §7.3.2 RECENT). */
  get recentCount(): number {
    return this.recent.size;
  }

  get exists(): number {
    return this.uids.length;
  }

  get uidValidity(): number {
    return this.mailbox.uidValidity;
  }

  get nextUid(): number {
    return this.uidNext;
  }

  get modSeq(): number {
    return this.watermark.highestModSeq;
  }

  /** Every change at or below this modseq is in the view (for tests and diagnostics). */
  get settledModSeq(): number {
    return this.watermark.settled;
  }

  /**
   * The mailbox counters this view fully reflects, for the change watcher; undefined while changes
   * at or below highestModSeq may still be landing, so the watcher wakes the session again.
   */
  get watchMark(): MailboxMark | undefined {
    if (this.gone) return null;
    if (this.watermark.behind) return undefined;
    return { uidNext: this.uidNext, highestModSeq: this.watermark.highestModSeq };
  }

  /** UIDs in sequence order (a copy). */
  allUids(): number[] {
    return [...this.uids];
  }

  uidAt(msn: number): number | undefined {
    return this.uids[msn - 1];
  }

  /** The message sequence number of a UID in this view, or 0. */
  msnOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.uids[mid]!;
      if (at === uid) return mid + 1;
      if (at < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  stateOf(uid: number): MessageState | undefined {
    return this.states.get(uid);
  }

  isExpunged(uid: number): boolean {
    return this.pendingExpunge.has(uid);
  }

  /** Records this session's own flag change so it is not announced back as someone else's. */
  noteFlags(uid: number, flags: string[], modSeq: number): void {
    const state = this.states.get(uid);
    if (state && modSeq > state.modSeq) this.states.set(uid, this.withRecent({ ...state, flags, modSeq }));
  }

  /**
   * Brings the view up to date and returns the untagged responses to send, in order.
   * One GetItem when nothing changed; otherwise a Query of new UIDs and a Query of the changes since
   * the watermark (core/store/resync.ts), never a re-read of the whole mailbox.
   */
  async sync(store: MessageStore, options: SyncOptions): Promise<Buffer[]> {
    const current = await store.getMailboxById(this.mailbox.account, this.mailbox.id);
    const out: Buffer[] = [];
    const flagChanges = new Set<number>();
    let grew = false;
    const addedUids: number[] = [];
    this.gone = !current;
    if (!current) {
      // A mailbox deleted under us reads as empty: every message is expunged.
      for (const uid of this.uids) this.pendingExpunge.add(uid);
    } else {
      this.watermark.observe(current.highestModSeq);
      const newUids = current.uidNext > this.uidNext;
      if (newUids || this.watermark.behind) {
        const queriedAt = this.watermark.queryTime();
        const [changes, added, claim] = await Promise.all([
          this.watermark.behind ? store.listStateChanges(this.mailbox.id, this.watermark.settled) : Promise.resolve([]),
          newUids ? store.listMessageStates(this.mailbox.id, current.uidNext, { fromUid: this.uidNext }) : Promise.resolve([]),
          newUids && !this.readOnly && this.showsRecent ? MailboxView.claimRecent(store, current, current.uidNext) : null,
        ]);
        const isRecent = !this.showsRecent ? () => false : claim ? (uid: number) => uid >= claim.from && uid < claim.to : (uid: number) => uid >= (current.recentUpTo ?? FIRST_UID);
        // Known messages: the newest state wins; a tombstone is final whatever its modseq.
        for (const fresh of changes) {
          if (fresh.uid >= this.uidNext) continue; // new UIDs come from the consistent read below
          const known = this.states.get(fresh.uid);
          if (!known || this.pendingExpunge.has(fresh.uid)) continue;
          if (fresh.expunged) {
            this.pendingExpunge.add(fresh.uid);
            continue;
          }
          if (fresh.modSeq <= known.modSeq) continue;
          const shown = this.withRecent(fresh);
          if (!sameFlags(shown.flags, known.flags)) flagChanges.add(fresh.uid);
          this.states.set(fresh.uid, shown);
        }
        // New messages, in UID order; the index may hold a newer state of one of them.
        const newest = new Map(changes.filter((c) => c.uid >= this.uidNext).map((c) => [c.uid, c]));
        for (const state of added) {
          const later = newest.get(state.uid);
          const fresh = later && (later.modSeq > state.modSeq || later.expunged) ? later : state;
          if (fresh.expunged) continue;
          this.uids.push(fresh.uid);
          if (isRecent(fresh.uid)) this.recent.add(fresh.uid);
          addedUids.push(fresh.uid);
          this.states.set(fresh.uid, this.withRecent(fresh));
          grew = true;
        }
        if (newUids) this.uidNext = current.uidNext;
        this.watermark.advance([...changes, ...added].map((c) => c.modSeq), queriedAt);
      }
    }
    if (options.allowExpunge && this.pendingExpunge.size > 0 && options.qresync) {
      // RFC 7162 §3.2.10: one VANISHED with the UIDs; sequence numbers shift as for EXPUNGE.
      const gone = this.uids.filter((uid) => this.pendingExpunge.has(uid));
      if (gone.length > 0) out.push(untagged(atom('VANISHED'), atom(compactSequenceSet(gone))));
      for (const uid of gone) this.states.delete(uid);
      this.uids = this.uids.filter((uid) => !this.pendingExpunge.has(uid));
      this.pendingExpunge.clear();
    }
    if (options.allowExpunge && this.pendingExpunge.size > 0) {
      // Highest first: each number is valid at the moment the client reads it (RFC 3501 §7.4.1).
      for (let i = this.uids.length - 1; i >= 0; i--) {
        const uid = this.uids[i]!;
        if (!this.pendingExpunge.has(uid)) continue;
        out.push(untagged(i + 1, atom('EXPUNGE')));
        this.states.delete(uid);
        this.recent.delete(uid);
      }
      this.uids = this.uids.filter((uid) => !this.pendingExpunge.has(uid));
      this.pendingExpunge.clear();
    }
    // New keywords are announced before the FETCH (or the EXISTS) that shows them.
    const shown = [...flagChanges, ...addedUids].filter((uid) => !this.pendingExpunge.has(uid));
    out.push(...this.announceKeywords(shown.map((uid) => this.states.get(uid)?.flags ?? [])));
    for (const uid of [...flagChanges].sort((a, b) => a - b)) {
      const msn = this.msnOf(uid);
      if (msn === 0 || this.pendingExpunge.has(uid)) continue;
      out.push(untagged(msn, atom('FETCH'), this.flagsResponse(uid, options.condstore)));
    }
    if (grew) out.push(untagged(this.uids.length, atom('EXISTS')));
    // RFC 3501 §7.3.2: RECENT when the count changed (with EXISTS, as Dovecot sends it).
    if (grew && this.recent.size !== this.announcedRecent) out.push(untagged(this.recent.size, atom('RECENT')));
    this.announcedRecent = this.recent.size;
    return out;
  }

  /** (FLAGS (...) UID n [MODSEQ (m)]) of an unsolicited flag update; UID included so clients can match it. */
  flagsResponse(uid: number, condstore: boolean): ImapValue[] {
    const state = this.states.get(uid)!;
    const items: ImapValue[] = [atom('FLAGS'), state.flags.map(atom), atom('UID'), uid];
    if (condstore) items.push(atom('MODSEQ'), [state.modSeq]);
    return items;
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f) => b.includes(f));
}
