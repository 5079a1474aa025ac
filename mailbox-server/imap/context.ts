// What a command handler sees of its session and of the server: the services (store, blobs,
// directory, throttle), the connection's facts, the state, and a way to answer. No sockets.
import type { Readable } from 'node:stream';
import type { BlobReadBudget, BlobReads } from '../../core/blob-read-budget.ts';
import type { BlobStore } from '../../core/blobs.ts';
import type { BodyCache } from '../../core/body-cache.ts';
import type { Directory, MessageStore } from '../../core/store/types.ts';
import type { LoginThrottle } from '../../core/login.ts';
import type { ServiceLog } from '../../core/log.ts';
import type { MailboxStates } from '../mailbox-states.ts';
import type { MailboxPoller } from './mailbox-poller.ts';
import type { ImapJunkTraining } from './junk-training.ts';
import type { SessionState } from './state.ts';
import type { ImapCommand, ImapCommandName } from './wire/ast.ts';

export interface ImapServices {
  /** The store through `mailboxStates` (MailboxStates.wrap). */
  readonly store: MessageStore;
  /** Message states of the mailboxes sessions have open, shared by the task's sessions (../mailbox-states.ts). */
  readonly mailboxStates: MailboxStates;
  readonly directory: Pick<Directory, 'verifyPassword' | 'quotaUsage'>;
  /** Blob writes (APPEND); reads go through the session's share of `blobReads` (CommandContext.blobs). */
  readonly blobs: Pick<BlobStore, 'put'>;
  readonly blobReads: BlobReadBudget;
  /** Bodies this task has read, in front of every session's reads; null: none kept. */
  readonly bodyCache: BodyCache | null;
  readonly throttle: LoginThrottle;
  readonly log: ServiceLog;
  readonly hostname: string;
  /** RFC 7889 APPENDLIMIT: the largest message APPEND accepts (the wire's literal limit). */
  readonly appendLimit: number;
  /** Wakes IDLE sessions when their mailbox changes: one GetItem per watched mailbox per interval. */
  readonly watcher: MailboxPoller;
  /** Interval of `* OK Still here` during IDLE; below every idle timeout on the path (the NLB's). */
  readonly idleKeepaliveMs: number;
  /** Teaches the junk filter from COPY, MOVE and STORE (mailbox-server/imap/junk-training.ts); null: no filter. */
  readonly junkTraining: ImapJunkTraining | null;
}

/** The tagged OK of a completed command; `after` runs once it is written (STARTTLS, LOGOUT). */
export interface Completion {
  readonly text: string;
  readonly code?: string;
  readonly after?: () => Promise<void>;
}

export interface CommandContext {
  readonly services: ImapServices;
  /** This session's blob reads, within its share of the process's S3 read budget. */
  readonly blobs: BlobReads;
  readonly remoteAddress: string;
  readonly secure: boolean;
  readonly cleartextAuthAllowed: boolean;
  /** Extensions turned on by ENABLE or SELECT (CONDSTORE), RFC 5161. */
  readonly enabled: Set<string>;
  setState(state: SessionState): void;
  /** Writes response bytes, waiting while the socket is congested. */
  send(...chunks: Buffer[]): Promise<void>;
  /**
   * Writes exactly `length` octets read from `source` (the data of a literal whose `{length}` was
   * just sent), pausing the source while the socket is congested. If the source fails to open,
   * fails or ends short, the connection is closed: nothing can be said inside a literal.
   */
  sendLiteralData(source: Readable | (() => Promise<Readable>), length: number): Promise<void>;
  /** The next raw line from the client (SASL responses, IDLE's DONE); null when the connection ends. */
  readClientLine(signal?: AbortSignal): Promise<Buffer | null>;
  /** Announces changes of the selected mailbox (if any) as untagged responses. */
  syncSelected(allowExpunge: boolean): Promise<void>;
  capabilities(): string[];
  /** Upgrades the connection to TLS (RFC 3501 §6.2.1); only from an `after` hook. */
  startTls(): Promise<void>;
  /** RFC 4978 COMPRESS=DEFLATE is on for this connection. */
  readonly compressionActive: boolean;
  /** Inflates client input from now on; the function returned deflates responses (call it after the tagged OK). */
  startCompression(): () => void;
  close(): void;
}

/** The command form(s) named N (some AST members share one shape for several names). */
export type CommandOf<N extends ImapCommandName> = ImapCommand extends infer C
  ? C extends { readonly name: infer M }
    ? N extends M
      ? C
      : never
    : never
  : never;
