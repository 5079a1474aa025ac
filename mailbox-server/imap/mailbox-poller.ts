// The per-process mailbox poller: sessions in IDLE subscribe to their mailbox, and one
// strongly consistent GetItem per watched mailbox per interval tells them all when uidNext or
// highestModSeq moved; each woken session then resynchronises its own view (mailbox-view.ts).
import type { ServiceLog } from '../../core/log.ts';
import type { Mailbox, MessageStore } from '../../core/store/types.ts';

/** What a poll learns of a mailbox: its counters, or null once it is deleted. */
export type MailboxMark = { readonly uidNext: number; readonly highestModSeq: number } | null;

export interface MailboxWatch {
  /**
   * Tells the watcher what the subscriber's view now reflects (after its own resync, which may have
   * read newer counters than the poll that woke it); undefined asks to be woken at the next poll
   * even if the counters stay put (a view still settling).
   */
  reflects(mark: MailboxMark | undefined): void;
  /** Stops watching; the last one out stops the polling of the mailbox. */
  unsubscribe(): void;
}

interface Subscriber {
  /** The counters this subscriber last acted on; null = gone, undefined = wake at the next poll. */
  known: MailboxMark | undefined;
  readonly onChange: (current: Mailbox | null) => void;
}

interface WatchedMailbox {
  readonly account: string;
  readonly mailboxId: string;
  readonly subscribers: Set<Subscriber>;
  timer: NodeJS.Timeout | null;
}

const sameMark = (a: MailboxMark | undefined, b: MailboxMark) =>
  a !== undefined && (a === null || b === null ? a === b : a.uidNext === b.uidNext && a.highestModSeq === b.highestModSeq);

/**
 * Polls instead of pushing because the state lives in DynamoDB and writers are other processes
 * (delivery Lambdas, other Fargate tasks): without Streams there is nothing to listen to, and one
 * GetItem per mailbox per second is the cheapest notice that works across processes. The cost is
 * per watched mailbox, not per session: 2,000 sessions idling on one INBOX cost one request a tick.
 */
export class MailboxPoller {
  private readonly watched = new Map<string, WatchedMailbox>();
  private closed = false;

  constructor(
    private readonly store: Pick<MessageStore, 'getMailboxById'>,
    private readonly pollMs: number,
    private readonly log: ServiceLog,
  ) {}

  /** Mailboxes being polled now (tests, diagnostics). */
  get watchedMailboxes(): number {
    return this.watched.size;
  }

  /**
   * Watches `mailbox` for `onChange`, which runs after a poll finds counters other than those the
   * subscriber last acted on. `known` is what the session's view already reflects, so a change
   * the watcher saw before this subscriber joined still wakes it.
   */
  subscribe(account: string, mailboxId: string, known: MailboxMark | undefined, onChange: (current: Mailbox | null) => void): MailboxWatch {
    if (this.closed) throw new Error('mailbox watcher is closed');
    const key = `${account}\0${mailboxId}`;
    let entry = this.watched.get(key);
    if (!entry) {
      entry = { account, mailboxId, subscribers: new Set(), timer: null };
      this.watched.set(key, entry);
      this.schedule(key, entry);
    }
    const subscriber: Subscriber = { known, onChange };
    entry.subscribers.add(subscriber);
    const watched = entry;
    return {
      reflects: (mark) => {
        subscriber.known = mark;
      },
      unsubscribe: () => {
        watched.subscribers.delete(subscriber);
        if (watched.subscribers.size === 0 && this.watched.get(key) === watched) this.stop(key, watched);
      },
    };
  }

  /** Server shutdown: no timer outlives the server. */
  close(): void {
    this.closed = true;
    for (const [key, entry] of this.watched) this.stop(key, entry);
  }

  private stop(key: string, entry: WatchedMailbox): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.watched.delete(key);
  }

  /** The next poll starts pollMs after the previous one ended, so a slow store is never asked twice at once. */
  private schedule(key: string, entry: WatchedMailbox): void {
    entry.timer = setTimeout(() => {
      entry.timer = null;
      void this.poll(entry).finally(() => {
        if (this.watched.get(key) === entry && !entry.timer) this.schedule(key, entry);
      });
    }, this.pollMs);
  }

  private async poll(entry: WatchedMailbox): Promise<void> {
    let current: Mailbox | null;
    try {
      current = await this.store.getMailboxById(entry.account, entry.mailboxId);
    } catch (err) {
      // Sessions stay idle and the next tick tries again; a delivery is late, not lost.
      this.log.warn('imap.mailbox-poll-failed', { err, mailboxId: entry.mailboxId });
      return;
    }
    const mark: MailboxMark = current ? { uidNext: current.uidNext, highestModSeq: current.highestModSeq } : null;
    for (const subscriber of [...entry.subscribers]) {
      if (sameMark(subscriber.known, mark)) continue;
      subscriber.known = mark;
      subscriber.onChange(current);
    }
  }
}
