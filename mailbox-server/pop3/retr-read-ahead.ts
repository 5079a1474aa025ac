// RFC 2449 §6.6 PIPELINING: a client may send RETR 1, RETR 2, ... without waiting. Answers still
// go out one at a time and in order (the session runs one command at a time), but the bodies of
// the RETRs queued behind the running one are read ahead, so the session waits for about one S3
// round trip, not one per message. Small messages only, within a byte bound: a large one is
// streamed when its turn comes, as without pipelining.
import type { BlobReads } from '../../core/blob-read-budget.ts';
import { copyReads } from '../../core/header-prefix.ts';
import { ReadAhead, SESSION_READ_AHEAD, type ScheduledRead } from '../../core/read-ahead.ts';
import type { Maildrop, MaildropMessage } from './maildrop.ts';

/** Messages up to this size are read whole (and may be read ahead); larger ones are streamed. */
export const READ_WHOLE_UP_TO_OCTETS = 64 * 1024;

/** A command line queued behind the running one. */
export interface QueuedCommand {
  readonly keyword: string;
  readonly args: readonly string[];
}

/** Commands that neither change what a later RETR names nor end the transaction. */
const harmless = new Set(['RETR', 'TOP', 'LIST', 'UIDL', 'STAT', 'NOOP', 'DELE']);

/** Copies with the same blob and prefix have the same bytes. */
const readKey = (message: MaildropMessage) => `${message.headerPrefix ?? ''}\0${message.blobKey}`;

export class RetrReadAhead {
  /** Bodies read ahead of their RETR and not yet sent: the session's read-ahead bound, as FETCH's (1 MiB). */
  private readonly ahead = new ReadAhead(SESSION_READ_AHEAD);
  /** Read-ahead results by blob key and header prefix (copies of one blob read once), in the order scheduled. */
  private readonly scheduled = new Map<string, ScheduledRead>();

  constructor(private readonly blobs: BlobReads) {}

  /** Starts reading the small messages that queued RETRs name (up to the first command that could change the maildrop's view). */
  consider(maildrop: Maildrop, queued: Iterable<QueuedCommand>): void {
    const deleted = new Set<string>();
    for (const command of queued) {
      if (!harmless.has(command.keyword)) return;
      if (command.keyword === 'DELE') deleted.add(command.args[0] ?? '');
      if (command.keyword !== 'RETR' || command.args.length !== 1 || deleted.has(command.args[0]!)) continue;
      let message: MaildropMessage;
      try {
        message = maildrop.get(command.args[0]);
      } catch {
        continue; // its own turn answers -ERR
      }
      if (message.size > READ_WHOLE_UP_TO_OCTETS || this.scheduled.has(readKey(message))) continue;
      this.scheduled.set(
        readKey(message),
        this.ahead.schedule(message.size, () => copyReads(this.blobs, message).getRange(message.blobKey, 0, message.size)),
      );
    }
  }

  /**
   * The message's bytes if they were read ahead (once), else null. Reads scheduled before it and
   * not taken (their RETR failed) are dropped, so they do not hold the bound.
   */
  take(message: MaildropMessage): Promise<Buffer> | null {
    const read = this.scheduled.get(readKey(message));
    if (!read) return null;
    for (const [key, earlier] of this.scheduled) {
      this.scheduled.delete(key);
      if (key === readKey(message)) break;
      earlier.drop();
    }
    return read.take();
  }

  /** The session is over: nothing more is started. */
  stop(): void {
    this.ahead.stop();
    this.scheduled.clear();
  }
}
