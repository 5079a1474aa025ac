// The POP3 view of a maildrop: INBOX as it was at login (RFC 1939 §5: message numbers and
// sizes are fixed for the session), with deletion marks that only UPDATE turns into expunges.
import { copyIndex } from '../../core/header-prefix.ts';
import type { MessageStore } from '../../core/store/types.ts';
import { readSegments, uidSegments } from '../../core/store/uid-segments.ts';
import { Pop3Error } from './wire/responses.ts';

export interface MaildropMessage {
  /** RFC 1939 §5: 1-based, fixed for the session. */
  readonly number: number;
  readonly uid: number;
  /** Octets of the message as served (header prefix and blob), which is CRLF-terminated already (RFC822.SIZE). */
  readonly size: number;
  readonly blobKey: string;
  /** The copy's own header lines, served before the blob (core/header-prefix.ts). */
  readonly headerPrefix?: string | null;
  /** End of the header block, blank line included (from the MIME index): TOP's ranged read. */
  readonly bodyStart: number;
  /** RFC 1939 §7 UIDL: UIDVALIDITY.UID stays the same across sessions and servers. */
  readonly uniqueId: string;
}

export type MaildropStore = Pick<MessageStore, 'getMailbox' | 'listMessages' | 'expunge'>;

/** Messages read per page at login (per segment), bounding memory while the MIME indexes are dropped. */
const LOGIN_PAGE = 500;

export class Maildrop {
  private readonly deleted = new Set<number>();

  constructor(
    readonly account: string,
    readonly mailboxId: string,
    private readonly messages: readonly MaildropMessage[],
  ) {}

  /**
   * RFC 1939 §5: POP3 sees INBOX only; the list is read once and never refreshed. The UIDs below
   * the uidNext read first are cut into segments read at once (core/store/uid-segments.ts), each
   * in pages whose MIME indexes are dropped as they come, and joined in UID order.
   */
  static async open(store: MaildropStore, account: string): Promise<Maildrop> {
    const inbox = await store.getMailbox(account, 'INBOX');
    if (!inbox) throw new Pop3Error('Maildrop not available', 'SYS/PERM');
    const listed = await readSegments(uidSegments(1, inbox.uidNext - 1), async (segment) => {
      const found: Array<Omit<MaildropMessage, 'number'>> = [];
      let fromUid = segment.from;
      for (;;) {
        // The segment ends below the first uidNext: later deliveries stay out of the snapshot.
        const page = await store.listMessages(account, 'INBOX', { fromUid, toUid: segment.to, limit: LOGIN_PAGE });
        for (const item of page) {
          found.push({
            uid: item.uid,
            size: item.size,
            blobKey: item.blobKey,
            ...(item.headerPrefix ? { headerPrefix: item.headerPrefix } : {}),
            bodyStart: copyIndex(item).body.offsets.bodyStart,
            uniqueId: `${inbox.uidValidity}.${item.uid}`,
          });
        }
        const last = page.at(-1);
        if (page.length < LOGIN_PAGE || !last || last.uid >= segment.to) return found;
        fromUid = last.uid + 1;
      }
    });
    return new Maildrop(account, inbox.id, listed.map((message, i) => ({ number: i + 1, ...message })));
  }

  /** Messages not marked deleted, in order. */
  live(): MaildropMessage[] {
    return this.messages.filter((m) => !this.deleted.has(m.number));
  }

  /** RFC 1939 §5 STAT: count and total octets of the messages not marked deleted. */
  stat(): { count: number; octets: number } {
    const live = this.live();
    return { count: live.length, octets: live.reduce((sum, m) => sum + m.size, 0) };
  }

  /**
   * The message a command argument names. RFC 1939 §5: a message marked deleted may not be
   * referred to; numbers are decimal without sign (RFC 1939 §3 "msg" is a number).
   */
  get(arg: string | undefined): MaildropMessage {
    if (arg === undefined) throw new Pop3Error('Message number required');
    if (!/^[0-9]{1,10}$/.test(arg)) throw new Pop3Error('Invalid message number');
    const n = Number(arg);
    const message = this.messages[n - 1];
    if (n < 1 || !message) throw new Pop3Error('No such message');
    if (this.deleted.has(n)) throw new Pop3Error('Message already deleted');
    return message;
  }

  markDeleted(message: MaildropMessage): void {
    this.deleted.add(message.number);
  }

  /** RFC 1939 §5 RSET: unmark every message. */
  resetDeletions(): void {
    this.deleted.clear();
  }

  /** UIDs to expunge in the UPDATE state. */
  deletedUids(): number[] {
    return this.messages.filter((m) => this.deleted.has(m.number)).map((m) => m.uid);
  }
}
