// One read of a mailbox's item (uidNext, highestModSeq: the head every session's resync starts
// from, mailbox-server/imap/mailbox-view.ts) shared by all sessions of a task: a command's sync
// before and after it, the sessions of one user's several connections and the IDLE watcher ask
// within milliseconds of each other, and each asked DynamoDB on its own.
import type { Mailbox, MessageStore } from '../core/store/types.ts';

export interface MailboxHeadLimits {
  /**
   * How long a head read is reused, counted from when it was sent. Bounds how much later a change
   * made by another task (a delivery, a flag change on another task) can be seen than without
   * this layer; changes made through this task's store are seen at once.
   */
  readonly freshMs: number;
  /** Mailboxes remembered; the oldest read goes first. */
  readonly maxEntries: number;
}

export const DEFAULT_MAILBOX_HEAD_LIMITS: MailboxHeadLimits = { freshMs: 50, maxEntries: 10_000 };

/**
 * Store methods that change nothing; every other method of the store (filing, flags, expunge,
 * mailbox create/rename/delete, and any added later) counts as a write and invalidates.
 */
export const STORE_READS: ReadonlySet<string> = new Set(['getMailbox', 'listMailboxes', 'listMessages', 'getUsage', 'listMessageStates', 'listStateChanges', 'getMessages']);

interface Head {
  readonly value: Promise<Mailbox | null>;
  readonly sentAt: number;
  readonly generation: number;
}

/**
 * Wraps a task's message store so `getMailboxById` answers from a read sent at most `freshMs`
 * ago, or joins one in flight. Safe for the resync protocol: a head read earlier is a head the
 * store really had then, and the view only ever moves forward from what it reads.
 * A write through the wrapped store (any session, IMAP or POP3) invalidates every head, both when
 * it starts and when it ends, so a session sees its own APPEND, STORE or EXPUNGE in the sync that
 * follows, and no read that raced the write is reused after it.
 */
export class SharedMailboxHeads {
  private readonly heads = new Map<string, Head>();
  private generation = 0;
  private readonly limits: MailboxHeadLimits;
  private readonly now: () => number;

  constructor(limits: Partial<MailboxHeadLimits> = {}, now: () => number = () => performance.now()) {
    this.limits = { ...DEFAULT_MAILBOX_HEAD_LIMITS, ...limits };
    this.now = now;
  }

  /** The store as every session of the task should use it. */
  wrap<T extends MessageStore>(store: T): T {
    return new Proxy(store, {
      get: (target, property) => {
        if (property === 'getMailboxById') return (account: string, mailboxId: string) => this.head(target, account, mailboxId);
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== 'function' || typeof property !== 'string' || STORE_READS.has(property)) {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async (...args: unknown[]) => {
          this.invalidate();
          try {
            return await (value as (...a: unknown[]) => unknown).apply(target, args);
          } finally {
            this.invalidate();
          }
        };
      },
    });
  }

  /** Heads held now (for tests). */
  get size(): number {
    return this.heads.size;
  }

  private head(store: MessageStore, account: string, mailboxId: string): Promise<Mailbox | null> {
    const key = `${account}\0${mailboxId}`;
    const now = this.now();
    const known = this.heads.get(key);
    if (known && known.generation === this.generation && now - known.sentAt <= this.limits.freshMs) return known.value;
    const value = store.getMailboxById(account, mailboxId);
    const head: Head = { value, sentAt: now, generation: this.generation };
    this.heads.delete(key);
    while (this.heads.size >= this.limits.maxEntries) {
      const oldest = this.heads.keys().next();
      if (oldest.done) break;
      this.heads.delete(oldest.value);
    }
    this.heads.set(key, head);
    // A failed read is not shared beyond the callers already waiting on it.
    value.catch(() => {
      if (this.heads.get(key) === head) this.heads.delete(key);
    });
    return value;
  }

  private invalidate(): void {
    this.generation += 1;
    this.heads.clear();
  }
}
