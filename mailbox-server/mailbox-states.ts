// Mailbox state shared by all sessions of a task (docs/decisions/0025-shared-mailbox-states.md):
// one copy of each open mailbox's message states, brought up to date once for every session on
// it by the resync protocol of core/store/resync.ts, and the parts of message items that never
// change once filed (blob key, size, MIME index). Each session's view (imap/mailbox-view.ts)
// keeps only what is its own (numbering, \Recent, announced keywords, pending expunges) and
// diffs against this copy.
import { ModSeqWatermark, type ResyncClock } from '../core/store/resync.ts';
import type { Mailbox, MessageItem, MessageState, MessageStore, SetFlagsResult } from '../core/store/types.ts';
import { STORE_READS } from './mailbox-heads.ts';

export interface MailboxStateLimits {
  /**
   * Message states (tombstones included) held across all shared mailboxes. A mailbox whose
   * opening would pass it is read into a copy of its own for that session, as before sharing.
   */
  readonly maxStates: number;
  /** Estimated bytes of immutable item parts kept; the least recently used go first. */
  readonly maxPartBytes: number;
}

/** About 40 MB of states (~200 B each) and 32 MiB of parts (a 10 KB message's are ~1-2 KB). */
export const DEFAULT_MAILBOX_STATE_LIMITS: MailboxStateLimits = { maxStates: 200_000, maxPartBytes: 32 * 1024 * 1024 };

/** A session's view of a shared mailbox, told what a message's state was before it is replaced. */
export interface MailboxStateListener {
  beforeChange(uid: number, previous: MessageState): void;
}

/**
 * Messages a sync of an open mailbox found new (never its first load), handed to whoever wants to
 * read ahead for the sessions that will now be told of them (./prefetch.ts).
 */
export interface NewMessages {
  readonly mailboxId: string;
  /** Their states, in UID order, tombstones left out. */
  readonly states: readonly MessageState[];
  /** Reads their items through the task's item parts, so a FETCH that follows reads none. */
  loadItems(uids: readonly number[]): Promise<MessageItem[]>;
}

/** Told of new messages during a sync: must return at once and never throw. */
export type NewMessagesListener = (found: NewMessages) => void;

/** What writes through the task's store have ended so far: a resync started before the last one may miss it. */
interface WriteCount {
  readonly generation: number;
}

/**
 * The states of one open mailbox: every UID below uidNext that has an item (tombstones included,
 * for QRESYNC), in UID order, with the watermark of core/store/resync.ts. One sync at a time;
 * a session asking while one runs joins it unless a write through the task ended since it began.
 */
export class SharedMailbox {
  private readonly states = new Map<number, MessageState>();
  /** The keys of `states`, ascending, to find the UIDs from a given one. */
  private readonly order: number[] = [];
  private nextUid: number;
  private readonly watermark: ModSeqWatermark;
  private readonly listeners = new Set<MailboxStateListener>();
  /** Openers that will attach a view (MailboxStates.open), so the mailbox is not dropped meanwhile. */
  private reserved = 0;
  private running: { readonly promise: Promise<void>; readonly generation: number } | null = null;
  /** The mailbox item as last read (recentUpTo is read from it). */
  head: Mailbox;
  /** The last sync found the mailbox deleted. */
  gone = false;

  constructor(
    mailbox: Mailbox,
    states: readonly MessageState[],
    clock: ResyncClock,
    private readonly writes: WriteCount,
    private readonly onUnused: (entry: SharedMailbox) => void = () => undefined,
    private readonly onNew: (store: MessageStore, states: readonly MessageState[]) => void = () => undefined,
  ) {
    this.head = mailbox;
    this.nextUid = mailbox.uidNext;
    for (const state of states) this.append(state);
    this.watermark = new ModSeqWatermark(mailbox.highestModSeq, states.map((s) => s.modSeq), clock);
  }

  get account(): string {
    return this.head.account;
  }

  get id(): string {
    return this.head.id;
  }

  // Mirrored by MailboxView's getters on purpose (mailbox-server/imap/mailbox-view.ts).
  get uidNext(): number {
    return this.nextUid;
  }

  get highestModSeq(): number {
    return this.watermark.highestModSeq;
  }

  get settledModSeq(): number {
    return this.watermark.settled;
  }

  /** Changes at or below highestModSeq may still be missing (core/store/resync.ts). */
  get behind(): boolean {
    return this.watermark.behind;
  }

  /** States held (tombstones included). */
  get size(): number {
    return this.states.size;
  }

  /** Sessions attached now. */
  get sessions(): number {
    return this.listeners.size;
  }

  state(uid: number): MessageState | undefined {
    return this.states.get(uid);
  }

  /** Every state held, in UID order (what listMessageStates below uidNext answers). */
  all(): MessageState[] {
    return [...this.states.values()];
  }

  /** The states of UIDs in [from, to), in UID order. */
  *statesBetween(from: number, to: number): Iterable<MessageState> {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.order[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.order.length && this.order[i]! < to; i++) yield this.states.get(this.order[i]!)!;
  }

  reserve(): void {
    this.reserved += 1;
  }

  /** A reservation that will not attach (the opener failed). */
  unreserve(): void {
    this.reserved -= 1;
    this.dropIfUnused();
  }

  /** Takes the place of a reservation, or attaches without one (a copy of a session's own). */
  attach(listener: MailboxStateListener, reserved: boolean): void {
    if (reserved) this.reserved -= 1;
    this.listeners.add(listener);
  }

  detach(listener: MailboxStateListener): void {
    if (this.listeners.delete(listener)) this.dropIfUnused();
  }

  /**
   * Brings the states up to date: the consistency check (the mailbox head, shared per task by
   * mailbox-heads.ts), then only what it shows has changed. `head`: a mailbox item the caller has
   * just read (SELECT's), used instead of reading it again. `onHead` hears the head this call reads,
   * before the queries it leads to (not called when the call joins a sync already running).
   */
  async sync(store: MessageStore, head?: Mailbox, onHead?: (current: Mailbox) => void): Promise<void> {
    for (;;) {
      const wanted = this.writes.generation;
      const running = this.running;
      if (!running) break;
      if (running.generation !== wanted) {
        // Began before a write of this task ended: it may not show it; wait and sync again.
        await running.promise.catch(() => undefined);
        continue;
      }
      await running.promise;
      if (!head || this.covers(head)) return;
    }
    const promise = this.resync(store, head, onHead);
    const run = { promise, generation: this.writes.generation };
    this.running = run;
    try {
      await promise;
    } finally {
      if (this.running === run) this.running = null;
    }
  }

  /**
   * The task's own flag changes, applied at once (their results are what the store wrote): every
   * other session on the mailbox announces them at its next sync without waiting for the index.
   */
  applyOwn(updated: SetFlagsResult['updated']): void {
    for (const u of updated) {
      const known = this.states.get(u.uid);
      if (!known || known.expunged || u.modSeq <= known.modSeq) continue;
      this.replace(u.uid, { ...known, flags: u.flags, modSeq: u.modSeq });
    }
    this.watermark.advance(updated.map((u) => u.modSeq), null);
  }

  private covers(head: Mailbox): boolean {
    return this.nextUid >= head.uidNext && this.watermark.highestModSeq >= head.highestModSeq;
  }

  /** The protocol of core/store/resync.ts, once for every session on the mailbox. */
  private async resync(store: MessageStore, given?: Mailbox, onHead?: (current: Mailbox) => void): Promise<void> {
    const current = given ?? (await store.getMailboxById(this.account, this.id));
    if (!current) {
      this.gone = true;
      return;
    }
    onHead?.(current);
    if (current.uidNext >= this.head.uidNext) this.head = current;
    this.watermark.observe(current.highestModSeq);
    const from = this.nextUid;
    const newUids = current.uidNext > from;
    if (!newUids && !this.watermark.behind) return;
    const queriedAt = this.watermark.queryTime();
    const [changes, added] = await Promise.all([
      this.watermark.behind ? store.listStateChanges(this.id, this.watermark.settled) : Promise.resolve([]),
      newUids ? store.listMessageStates(this.id, current.uidNext, { fromUid: from }) : Promise.resolve([]),
    ]);
    // Known messages: the newest state wins; a tombstone is final whatever its modseq.
    for (const fresh of changes) {
      if (fresh.uid >= from) continue; // new UIDs come from the consistent read below
      const known = this.states.get(fresh.uid);
      if (!known || known.expunged) continue;
      if (fresh.expunged || fresh.modSeq > known.modSeq) this.replace(fresh.uid, fresh);
    }
    // New messages, in UID order; the index may hold a newer state of one of them.
    const newest = new Map(changes.filter((c) => c.uid >= from).map((c) => [c.uid, c]));
    for (const state of added) {
      const later = newest.get(state.uid);
      this.append(later && (later.modSeq > state.modSeq || later.expunged) ? later : state);
    }
    if (current.uidNext > this.nextUid) this.nextUid = current.uidNext;
    this.watermark.advance([...changes, ...added].map((c) => c.modSeq), queriedAt);
    const found = added.map((state) => this.states.get(state.uid) ?? state).filter((state) => !state.expunged);
    if (found.length > 0) this.onNew(store, found);
  }

  private append(state: MessageState): void {
    if (this.states.has(state.uid) || (this.order.length > 0 && state.uid < this.order.at(-1)!)) return;
    this.states.set(state.uid, state);
    this.order.push(state.uid);
  }

  private replace(uid: number, fresh: MessageState): void {
    const previous = this.states.get(uid)!;
    for (const listener of this.listeners) listener.beforeChange(uid, previous);
    this.states.set(uid, fresh);
  }

  private dropIfUnused(): void {
    if (this.listeners.size === 0 && this.reserved <= 0) this.onUnused(this);
  }
}

/** A message item without what changes (flags, modseq, expunged): what a cache may keep. */
type ItemParts = Omit<MessageItem, 'flags' | 'modSeq' | 'expunged'>;

interface Slot {
  readonly loading: Promise<SharedMailbox>;
  entry: SharedMailbox | null;
}

/**
 * The task's shared mailbox states, built once at the composition root (mailbox-server/main.ts)
 * and used by every IMAP session; `wrap` puts it in front of the store so reads of message items
 * answer from what is known and the task's own writes are seen at once.
 */
export class MailboxStates {
  private readonly slots = new Map<string, Slot>();
  private readonly byId = new Map<string, SharedMailbox>();
  /** Immutable item parts by `mailboxId uid`; Map order is recency, the first is the oldest. */
  private readonly parts = new Map<string, { readonly parts: ItemParts; readonly bytes: number }>();
  private partBytes = 0;
  private readonly writes = { generation: 0 };
  private readonly wrapped = new WeakSet<object>();
  readonly limits: MailboxStateLimits;

  constructor(
    limits: Partial<MailboxStateLimits> = {},
    private readonly clock: ResyncClock = {},
    /** Told of the new messages each sync finds (the task's prefetch, ./prefetch.ts); none if absent. */
    private readonly onNewMessages: NewMessagesListener | null = null,
  ) {
    this.limits = { ...DEFAULT_MAILBOX_STATE_LIMITS, ...limits };
  }

  /** Mailboxes shared now (tests, diagnostics). */
  get mailboxes(): number {
    return this.byId.size;
  }

  /** States held across shared mailboxes. */
  get states(): number {
    let n = 0;
    for (const entry of this.byId.values()) n += entry.size;
    return n;
  }

  /** Item parts held, and their estimated bytes. */
  get heldParts(): { readonly count: number; readonly bytes: number } {
    return { count: this.parts.size, bytes: this.partBytes };
  }

  /**
   * The states of `mailbox` (a head just read), reserved for one view to attach: shared and
   * synced when another session has it open (the consistency check, no re-read), else read once.
   */
  async open(store: MessageStore, mailbox: Mailbox): Promise<SharedMailbox> {
    const key = `${mailbox.account}\0${mailbox.id}`;
    for (;;) {
      const slot = this.slots.get(key);
      if (!slot) break;
      const entry = await slot.loading.catch(() => null);
      if (!entry || entry.gone || this.slots.get(key) !== slot) {
        if (this.slots.get(key) === slot) this.drop(key, slot);
        continue;
      }
      entry.reserve();
      try {
        await entry.sync(store, mailbox);
      } catch (err) {
        entry.unreserve();
        throw err;
      }
      return entry;
    }
    if (this.states + mailbox.uidNext - 1 > this.limits.maxStates) {
      // Over the bound: a copy for this session alone, dropped with its view.
      const states = await store.listMessageStates(mailbox.id, mailbox.uidNext);
      const own = new SharedMailbox(mailbox, states, this.clock, this.writes, undefined, (from, found) => this.tellNew(from, mailbox.id, found));
      own.reserve();
      return own;
    }
    const slot: Slot = {
      loading: store.listMessageStates(mailbox.id, mailbox.uidNext).then((states) => {
        const entry = new SharedMailbox(
          mailbox,
          states,
          this.clock,
          this.writes,
          (unused) => {
            if (this.slots.get(key) === slot && slot.entry === unused) this.drop(key, slot);
          },
          (store, found) => this.tellNew(store, mailbox.id, found),
        );
        slot.entry = entry;
        this.byId.set(mailbox.id, entry);
        return entry;
      }),
      entry: null,
    };
    this.slots.set(key, slot);
    slot.loading.catch(() => {
      if (this.slots.get(key) === slot) this.slots.delete(key);
    });
    const entry = await slot.loading;
    entry.reserve();
    return entry;
  }

  /**
   * The states below `mailbox`'s uidNext (a head just read), tombstones included, when some session
   * of the task has it open: brought up to date from that head, without a re-read. Null otherwise.
   */
  async statesOf(store: MessageStore, mailbox: Mailbox): Promise<MessageState[] | null> {
    const entry = this.byId.get(mailbox.id);
    if (!entry || entry.account !== mailbox.account) return null;
    await entry.sync(store, mailbox);
    return entry.gone ? null : [...entry.statesBetween(1, mailbox.uidNext)];
  }

  /**
   * The store as every session of the task should use it: item reads answered from the parts
   * already read and the shared states; flag changes applied to the shared states at once; and
   * every write counted, so a sync that began before it ended is not joined after it.
   */
  wrap<T extends MessageStore>(store: T): T {
    if (this.wrapped.has(store)) return store;
    const proxy = new Proxy(store, {
      get: (target, property) => {
        if (property === 'getMessages') return (mailboxId: string, uids: readonly number[]) => this.getMessages(target, mailboxId, uids);
        const value = Reflect.get(target, property) as unknown;
        // A \Recent claim changes no message state.
        if (typeof value !== 'function' || typeof property !== 'string' || STORE_READS.has(property) || property === 'claimRecent') {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async (...args: unknown[]) => {
          try {
            const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
            if (property === 'setFlags') this.byId.get(args[1] as string)?.applyOwn((result as SetFlagsResult).updated);
            return result;
          } finally {
            this.writes.generation += 1;
          }
        };
      },
    });
    this.wrapped.add(proxy);
    return proxy;
  }

  private tellNew(store: MessageStore, mailboxId: string, states: readonly MessageState[]): void {
    if (!this.onNewMessages) return;
    const wrapped = this.wrap(store);
    try {
      this.onNewMessages({ mailboxId, states, loadItems: (uids) => wrapped.getMessages(mailboxId, uids) });
    } catch {
      // A listener is only told; its failure is not the sync's.
    }
  }

  private drop(key: string, slot: Slot): void {
    this.slots.delete(key);
    if (slot.entry && this.byId.get(slot.entry.id) === slot.entry) this.byId.delete(slot.entry.id);
  }

  /**
   * getMessages with the parts of items already read: a UID whose parts are held and whose state
   * the shared mailbox knows to be live costs no request (flags and modseq come from that state,
   * as current as the last consistency check); the rest are read and their parts kept.
   */
  private async getMessages(store: MessageStore, mailboxId: string, uids: readonly number[]): Promise<MessageItem[]> {
    const entry = this.byId.get(mailboxId);
    const served: MessageItem[] = [];
    const missing: number[] = [];
    for (const uid of new Set(uids)) {
      const state = entry?.state(uid);
      const held = state && !state.expunged ? this.takeParts(mailboxId, uid) : undefined;
      if (held && state) served.push({ ...held, flags: state.flags, modSeq: state.modSeq, expunged: false });
      else missing.push(uid);
    }
    if (missing.length === 0) return served.sort((a, b) => a.uid - b.uid);
    const read = await store.getMessages(mailboxId, missing);
    for (const item of read) this.keepParts(item);
    return served.length === 0 ? read : [...served, ...read].sort((a, b) => a.uid - b.uid);
  }

  private takeParts(mailboxId: string, uid: number): ItemParts | undefined {
    const key = `${mailboxId} ${uid}`;
    const held = this.parts.get(key);
    if (!held) return undefined;
    this.parts.delete(key);
    this.parts.set(key, held);
    return held.parts;
  }

  private keepParts(item: MessageItem): void {
    const { flags: _flags, modSeq: _modSeq, expunged: _expunged, ...parts } = item;
    // UTF-16 strings; the index as its JSON, which is what it holds in memory, near enough.
    const bytes = 2 * (200 + parts.blobKey.length + (parts.headerPrefix?.length ?? 0) + JSON.stringify(parts.index).length);
    if (bytes > this.limits.maxPartBytes / 16) return;
    const key = `${item.mailboxId} ${item.uid}`;
    const old = this.parts.get(key);
    if (old) {
      this.parts.delete(key);
      this.partBytes -= old.bytes;
    }
    for (const [oldest, held] of this.parts) {
      if (this.partBytes + bytes <= this.limits.maxPartBytes) break;
      this.parts.delete(oldest);
      this.partBytes -= held.bytes;
    }
    this.parts.set(key, { parts, bytes });
    this.partBytes += bytes;
  }
}
