// A session's view of its selected mailbox: the UIDs as last announced to the client (so message
// sequence numbers stay consistent, RFC 3501 §2.3.1.2), and the resynchronisation with the store
// that yields untagged EXISTS / EXPUNGE / FETCH FLAGS at the points the session allows (§5.2, §7.4.1).
import type { Mailbox, MessageState, MessageStore } from '../../core/store/types.ts';
import { atom, untagged, type ImapValue } from './wire/writer.ts';

/** How long after the mailbox's modseq moved an allocation may still be landing (a writer between counter and item). */
const SETTLE_MS = 3000;

export interface SyncOptions {
  /** RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH (UID forms excepted). */
  readonly allowExpunge: boolean;
  /** RFC 7162 §3.2: with CONDSTORE enabled, FETCH responses carry MODSEQ. */
  readonly condstore: boolean;
}

export class MailboxView {
  /** UIDs in message sequence order as the client knows them: msn = index + 1. */
  private uids: number[];
  /** Last known state of each UID in `uids` (an expunged one keeps its last state until announced). */
  private readonly states = new Map<number, MessageState>();
  /** Expunged in the store, not yet announced to this client. */
  private readonly pendingExpunge = new Set<number>();
  private uidNext: number;
  private highestModSeq: number;
  /** Since when the mailbox's modseq has stood above every modseq seen on a message. */
  private unsettledSince: number | null = null;

  private constructor(
    readonly mailbox: Mailbox,
    readonly readOnly: boolean,
    states: MessageState[],
  ) {
    const live = states.filter((s) => !s.expunged);
    this.uids = live.map((s) => s.uid);
    for (const s of live) this.states.set(s.uid, s);
    this.uidNext = mailbox.uidNext;
    this.highestModSeq = mailbox.highestModSeq;
    this.noteSettled(states, Date.now());
  }

  /** Reads the mailbox item first, then the messages below its uidNext (a gap-free prefix, invariant 3). */
  static async open(store: MessageStore, mailbox: Mailbox, readOnly: boolean): Promise<MailboxView> {
    const states = await store.listMessageStates(mailbox.id, mailbox.uidNext);
    return new MailboxView(mailbox, readOnly, states);
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
    if (state) this.states.set(uid, { ...state, flags, modSeq });
  }

  private noteSettled(states: readonly MessageState[], now: number): void {
    const seen = states.reduce((m, s) => Math.max(m, s.modSeq), 0);
    if (seen >= this.highestModSeq) this.unsettledSince = null;
    else if (this.unsettledSince === null) this.unsettledSince = now;
  }

  /**
   * Brings the view up to date and returns the untagged responses to send, in order.
   * One GetItem when nothing changed; a projection query of the mailbox otherwise.
   */
  async sync(store: MessageStore, options: SyncOptions): Promise<Buffer[]> {
    const now = Date.now();
    const current = await store.getMailboxById(this.mailbox.account, this.mailbox.id);
    // A mailbox deleted under us reads as empty: every message is expunged.
    const uidNext = current?.uidNext ?? this.uidNext;
    const highestModSeq = current?.highestModSeq ?? this.highestModSeq;
    const changed = !current || uidNext !== this.uidNext || highestModSeq !== this.highestModSeq;
    const unsettled = this.unsettledSince !== null && now - this.unsettledSince < SETTLE_MS;
    const out: Buffer[] = [];
    const flagChanges: number[] = [];
    let grew = false;
    if (changed || unsettled) {
      const states = current ? await store.listMessageStates(this.mailbox.id, uidNext) : [];
      const live = new Map(states.filter((s) => !s.expunged).map((s) => [s.uid, s]));
      for (const uid of this.uids) {
        const fresh = live.get(uid);
        if (!fresh) {
          this.pendingExpunge.add(uid);
          continue;
        }
        const known = this.states.get(uid)!;
        if (fresh.modSeq !== known.modSeq && !sameFlags(fresh.flags, known.flags)) flagChanges.push(uid);
        this.states.set(uid, fresh);
      }
      const last = this.uids[this.uids.length - 1] ?? 0;
      for (const state of states) {
        if (state.expunged || state.uid <= last) continue;
        this.uids.push(state.uid);
        this.states.set(state.uid, state);
        grew = true;
      }
      if (current && highestModSeq !== this.highestModSeq) this.unsettledSince = null;
      this.uidNext = uidNext;
      this.highestModSeq = highestModSeq;
      this.noteSettled(states, now);
    }
    if (options.allowExpunge && this.pendingExpunge.size > 0) {
      // Highest first: each number is valid at the moment the client reads it (RFC 3501 §7.4.1).
      for (let i = this.uids.length - 1; i >= 0; i--) {
        const uid = this.uids[i]!;
        if (!this.pendingExpunge.has(uid)) continue;
        out.push(untagged(i + 1, atom('EXPUNGE')));
        this.states.delete(uid);
      }
      this.uids = this.uids.filter((uid) => !this.pendingExpunge.has(uid));
      this.pendingExpunge.clear();
    }
    for (const uid of flagChanges) {
      const msn = this.msnOf(uid);
      if (msn === 0 || this.pendingExpunge.has(uid)) continue;
      out.push(untagged(msn, atom('FETCH'), this.flagsResponse(uid, options.condstore)));
    }
    if (grew) out.push(untagged(this.uids.length, atom('EXISTS')));
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
