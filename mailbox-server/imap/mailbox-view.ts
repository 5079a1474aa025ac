// A session's view of its selected mailbox: the UIDs as last announced to the client (so message
// sequence numbers stay consistent, RFC 3501 §2.3.1.2), and the resynchronisation with the store
// that yields untagged EXISTS / RECENT / EXPUNGE / FETCH FLAGS at the points the session allows (§5.2,
// §7.4.1). \Recent (§2.3.2) is per session: a read-write view claims the new UIDs it is first to see
// (core/store/recent.ts); a read-only one shows as recent what nobody has claimed, claiming nothing.
// The message states themselves are the task's, shared by every session on the mailbox
// (../mailbox-states.ts); a view keeps only what is its own and what it showed before a change.
import type { ResyncClock } from '../../core/store/resync.ts';
import { FIRST_UID, type RecentClaim } from '../../core/store/recent.ts';
import type { Mailbox, MessageState, MessageStore } from '../../core/store/types.ts';
import { SharedMailbox, type MailboxStateListener } from '../mailbox-states.ts';
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

/** A \Recent claim sent as soon as a sync's head read showed new UIDs, and how far it reaches. */
type EarlyClaim = { readonly upTo: number; readonly claim: Promise<RecentClaim> };

/** Tests: a clock and a settle time to simulate a lagging index without sleeping for seconds. */
export type ViewClock = ResyncClock;

/**
 * Incremental resynchronisation (RFC 3501 §5.2 / RFC 7162 §3.1): the protocol and its watermark
 * are core/store/resync.ts, run once per task for every session on the mailbox by SharedMailbox;
 * this class keeps the client's numbering and turns what changed since its last sync into responses.
 */
export class MailboxView implements MailboxStateListener {
  /** UIDs in message sequence order as the client knows them: msn = index + 1. */
  private uids: number[];
  /** RFC 5182 §2.1 search result variable, as UIDs; a new view (SELECT, EXAMINE) starts empty. */
  savedSearch: ReadonlySet<number> = new Set();
  /**
   * The state this client was last shown of each of its messages whose shared state has changed
   * since (an expunged one keeps its last state until announced); every other message shows as shared.
   */
  private readonly shown = new Map<number, MessageState>();
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
  /** highestModSeq as of this view's last sync (what HIGHESTMODSEQ reports). */
  private highestModSeq: number;
  /** The last sync found the mailbox deleted. */
  private gone = false;
  private released = false;

  private constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    private readonly shared: SharedMailbox,
    recent: (uid: number) => boolean,
  ) {
    this.uids = [];
    for (const s of shared.statesBetween(FIRST_UID, shared.uidNext)) {
      if (s.expunged) continue;
      this.uids.push(s.uid);
      if (recent(s.uid)) this.recent.add(s.uid);
      for (const flag of s.flags) if (!flag.startsWith('\\')) this.keywords.add(flag);
    }
    this.announcedRecent = this.recent.size;
    this.uidNext = shared.uidNext;
    this.highestModSeq = shared.highestModSeq;
  }

  /**
   * A view over shared states reserved for it (MailboxStates.open), as they stand now. `recent`
   * null: a session without \Recent (IMAP4rev2), which must not claim it from others either.
   */
  static attach(shared: SharedMailbox, mailbox: Mailbox, readOnly: boolean, recent: ((uid: number) => boolean) | null): MailboxView {
    const view = new MailboxView(mailbox, readOnly, shared, recent ?? (() => false));
    view.showsRecent = recent !== null;
    shared.attach(view, true);
    return view;
  }

  /** The session leaves the mailbox (another SELECT, CLOSE, UNSELECT, logout, disconnect). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.shared.detach(this);
  }

  /**
   * Keeps the shared states of this view's mailbox after the view is released, until the function
   * returned is called: a SELECT from a selected state holds the old mailbox's while it opens the
   * new one, so re-selecting the same mailbox costs the consistency check, not a re-read.
   */
  retainShared(): () => void {
    this.shared.reserve();
    let held = true;
    return () => {
      if (held) this.shared.unreserve();
      held = false;
    };
  }

  /** MailboxStateListener: what this client saw of a message before the shared state moved on. */
  beforeChange(uid: number, previous: MessageState): void {
    if (!this.shown.has(uid) && this.msnOf(uid) > 0) this.shown.set(uid, previous);
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

  // These getters mirror SharedMailbox's (mailbox-server/mailbox-states.ts) on purpose: a view
  // answers with what it has announced to its client, the shared copy with what the store holds.

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
    return this.highestModSeq;
  }

  /** Every change at or below this modseq is in the view (for tests and diagnostics). */
  get settledModSeq(): number {
    return this.shared.settledModSeq;
  }

  /**
   * The mailbox counters this view fully reflects, for the change watcher; undefined while changes
   * at or below highestModSeq may still be landing, so the watcher wakes the session again.
   */
  get watchMark(): MailboxMark | undefined {
    if (this.gone) return null;
    if (this.shared.behind) return undefined;
    return { uidNext: this.uidNext, highestModSeq: this.highestModSeq };
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
    if (this.msnOf(uid) === 0) return undefined;
    const state = this.shown.get(uid) ?? this.shared.state(uid);
    return state && this.withRecent(state);
  }

  /** Every state the task holds of this mailbox, tombstones included, in UID order (QRESYNC at SELECT). */
  storedStates(): MessageState[] {
    return this.shared.all();
  }

  isExpunged(uid: number): boolean {
    return this.pendingExpunge.has(uid);
  }

  /** Records this session's own flag change so it is not announced back as someone else's. */
  noteFlags(uid: number, flags: string[], modSeq: number): void {
    if (this.msnOf(uid) === 0) return;
    const known = this.shown.get(uid) ?? this.shared.state(uid);
    if (!known || modSeq <= known.modSeq) return;
    const current = this.shared.state(uid);
    // The shared state is this change (the task applies its own at once): nothing left to show.
    if (current && !current.expunged && current.modSeq === modSeq) this.shown.delete(uid);
    else this.shown.set(uid, { ...known, flags, modSeq });
  }

  /**
   * Brings the view up to date and returns the untagged responses to send, in order. The shared
   * states sync first (one GetItem when nothing changed, shared by the task's sessions; otherwise
   * a Query of new UIDs and one of the changes since the watermark, core/store/resync.ts, never a
   * re-read of the whole mailbox); then this view diffs against them without a request.
   */
  async sync(store: MessageStore, options: SyncOptions): Promise<Buffer[]> {
    // A read-write view claims the new UIDs' \Recent (core/store/recent.ts) beside the queries
    // that read them, as soon as the head shows them.
    const claims = !this.readOnly && this.showsRecent;
    let early: EarlyClaim | null = null;
    await this.shared.sync(store, undefined, (head) => {
      if (claims && head.uidNext > this.uidNext) early = { upTo: head.uidNext, claim: MailboxView.claimRecent(store, head, head.uidNext) };
    });
    const out: Buffer[] = [];
    const flagChanges = new Set<number>();
    let grew = false;
    const addedUids: number[] = [];
    this.gone = this.shared.gone;
    if (this.gone) {
      // A mailbox deleted under us reads as empty: every message is expunged.
      for (const uid of this.uids) this.pendingExpunge.add(uid);
    } else {
      // (A cast: the compiler cannot see the callback above assign it.)
      const started = early as EarlyClaim | null;
      // UIDs past a claim made early wait for the next sync, which claims them.
      const upTo = started ? Math.min(started.upTo, this.shared.uidNext) : this.shared.uidNext;
      this.highestModSeq = this.shared.highestModSeq;
      const head = this.shared.head;
      const newUids = upTo > this.uidNext;
      const claim = started ? await started.claim : newUids && claims ? await MailboxView.claimRecent(store, head, upTo) : null;
      const isRecent = !this.showsRecent ? () => false : claim ? (uid: number) => uid >= claim.from && uid < claim.to : (uid: number) => uid >= (head.recentUpTo ?? FIRST_UID);
      // Known messages whose shared state moved on since this client was shown them.
      for (const [uid, before] of this.shown) {
        if (this.pendingExpunge.has(uid)) continue;
        const current = this.shared.state(uid);
        if (!current) continue;
        if (current.expunged) {
          // A tombstone is final whatever its modseq; the last state stays until announced.
          this.pendingExpunge.add(uid);
          continue;
        }
        // The shared state is older than what this session wrote and showed: wait for it.
        if (current.modSeq < before.modSeq) continue;
        this.shown.delete(uid);
        if (!sameFlags(current.flags, before.flags)) flagChanges.add(uid);
      }
      // New messages, in UID order.
      for (const state of this.shared.statesBetween(this.uidNext, upTo)) {
        if (state.expunged) continue;
        this.uids.push(state.uid);
        if (isRecent(state.uid)) this.recent.add(state.uid);
        addedUids.push(state.uid);
        grew = true;
      }
      if (newUids) this.uidNext = upTo;
    }
    if (options.allowExpunge && this.pendingExpunge.size > 0 && options.qresync) {
      // RFC 7162 §3.2.10: one VANISHED with the UIDs; sequence numbers shift as for EXPUNGE.
      const gone = this.uids.filter((uid) => this.pendingExpunge.has(uid));
      if (gone.length > 0) out.push(untagged(atom('VANISHED'), atom(compactSequenceSet(gone))));
      for (const uid of gone) this.shown.delete(uid);
      this.uids = this.uids.filter((uid) => !this.pendingExpunge.has(uid));
      this.pendingExpunge.clear();
    }
    if (options.allowExpunge && this.pendingExpunge.size > 0) {
      // Highest first: each number is valid at the moment the client reads it (RFC 3501 §7.4.1).
      for (let i = this.uids.length - 1; i >= 0; i--) {
        const uid = this.uids[i]!;
        if (!this.pendingExpunge.has(uid)) continue;
        out.push(untagged(i + 1, atom('EXPUNGE')));
        this.shown.delete(uid);
        this.recent.delete(uid);
      }
      this.uids = this.uids.filter((uid) => !this.pendingExpunge.has(uid));
      this.pendingExpunge.clear();
    }
    // New keywords are announced before the FETCH (or the EXISTS) that shows them.
    const shown = [...flagChanges, ...addedUids].filter((uid) => !this.pendingExpunge.has(uid));
    out.push(...this.announceKeywords(shown.map((uid) => this.stateOf(uid)?.flags ?? [])));
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
    const state = this.stateOf(uid)!;
    const items: ImapValue[] = [atom('FLAGS'), state.flags.map(atom), atom('UID'), uid];
    if (condstore) items.push(atom('MODSEQ'), [state.modSeq]);
    return items;
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f) => b.includes(f));
}
