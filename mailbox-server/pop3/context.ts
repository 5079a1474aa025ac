// What a POP3 command handler may use: the services behind the server and the session's
// connection, kept apart from socket handling so each command reads as its RFC section.
import type { BlobReadBudget, BlobReads } from '../../core/blob-read-budget.ts';
import type { BodyCache } from '../../core/body-cache.ts';
import type { Directory } from '../../core/store/types.ts';
import type { MaildropLocks } from '../../core/store/maildrop-lock.ts';
import type { LoginThrottle } from '../../core/login.ts';
import type { ServiceLog } from '../../core/log.ts';
import type { Maildrop, MaildropStore } from './maildrop.ts';
import type { ByteSink } from './message-output.ts';
import type { RetrReadAhead } from './retr-read-ahead.ts';
import type { Pop3State } from './state.ts';

/** The blob store as POP3 reads it (whole messages, and the leading range TOP wants), through a BlobReadBudget. */
export type Pop3Blobs = BlobReads;

/** The shared login throttle (core/login-failures.ts), as far as logging in uses it. */
export type { LoginThrottle };

export interface Pop3Services {
  readonly directory: Pick<Directory, 'verifyPassword'>;
  readonly store: MaildropStore;
  /** S3 reads in flight per process and per session, shared with IMAP. */
  readonly blobReads: BlobReadBudget;
  /** Bodies this task has read, shared with IMAP, in front of every session's reads; null: none kept. */
  readonly bodyCache: BodyCache | null;
  readonly locks: MaildropLocks;
  readonly throttle: LoginThrottle;
  readonly log: ServiceLog;
  /** RFC 2449 §6.9 IMPLEMENTATION. */
  readonly implementation: string;
}

export interface Pop3Connection {
  readonly remoteAddress: string;
  readonly tls: boolean;
  /** RFC 2595 §2.3: plaintext logins only over TLS, or from loopback unless told to treat it as remote. */
  readonly plaintextLoginAllowed: boolean;
  /** STLS is possible: not TLS yet and the server has credentials. */
  readonly canStartTls: boolean;
}

export interface Pop3Context {
  readonly services: Pop3Services;
  /** This session's blob reads, within its share of the process's S3 read budget. */
  readonly blobs: BlobReads;
  /** Bodies of pipelined RETRs read before their turn. */
  readonly readAhead: Pick<RetrReadAhead, 'take'>;
  readonly connection: Pop3Connection;
  /** Sends a complete response (status line or short multi-line), honouring back-pressure. */
  reply(response: Buffer): Promise<void>;
  /** Raw bytes of a response in progress (message bodies). */
  readonly send: ByteSink;
  /** False once the client is gone: long outputs stop early. */
  isOpen(): boolean;
  /** Ends the session after a protocol failure mid-response, without another status line. */
  abort(reason: string, err?: unknown): void;
  setState(state: Pop3State): void;
  /** Moves to TRANSACTION holding the lease, which the session keeps alive until it ends. */
  enterTransaction(account: string, maildrop: Maildrop, lease: Pop3LeaseHandle): void;
  /** Counts a failed login; the session closes after too many. */
  loginFailed(): Promise<void>;
  /** RFC 5034 §4: sends "+ challenge" and returns the client's line, or null if the exchange ended. */
  saslExchange(challengeBase64: string): Promise<string | null>;
  /** RFC 2595 §4: negotiates TLS on the connection after "+OK" was sent. */
  startTls(): Promise<void>;
  /** Sends a last response and closes the connection. */
  close(final?: Buffer): Promise<void>;
}

export type Pop3LeaseHandle = Extract<Pop3State, { kind: 'transaction' }>['lease'];
