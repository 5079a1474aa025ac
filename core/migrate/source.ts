// What an import reads from: a source of folders of messages with UIDs (an IMAP server, or
// files given UIDs in a stable order). The importer (importer.ts) needs nothing more.
import type { SourceFolder } from './folders.ts';

export interface MessageSize {
  readonly uid: number;
  readonly size: number;
}

/** What identifies a message across a UIDVALIDITY change: Message-ID, size and INTERNALDATE. */
export interface MessageFingerprint extends MessageSize {
  readonly internalDate: Date;
  /** The Message-ID header as written (angle brackets included), or null. */
  readonly messageId: string | null;
}

export interface SourceMessage {
  readonly uid: number;
  /** The message's bytes exactly as the source holds them (RFC 3501 §6.4.5 BODY[]). */
  readonly raw: Buffer;
  /** System flags and keywords (RFC 3501 §2.3.2), without \Recent, which no client may set. */
  readonly flags: readonly string[];
  readonly internalDate: Date;
}

/** A folder opened for reading; UIDs mean the same message while `uidValidity` stands. */
export interface OpenFolder {
  readonly uidValidity: string;
  /** UIDs above `after`, plus those of `also` that still exist, with their sizes, ascending. */
  sizes(after: number, also: readonly number[]): Promise<MessageSize[]>;
  /** Every message's fingerprint, for matching after a UIDVALIDITY change. */
  fingerprints(): Promise<MessageFingerprint[]>;
  /**
   * The messages among `uids`, in UID order, streamed (the source is asked for all of them at
   * once). A UID the source does not return is simply missing from the answer.
   */
  fetch(uids: readonly number[]): AsyncIterable<SourceMessage>;
  close(): Promise<void>;
}

export interface MessageSource {
  /** Stable identity of the source (scheme, user, host), under which progress is kept. */
  readonly id: string;
  folders(): Promise<SourceFolder[]>;
  open(folder: SourceFolder): Promise<OpenFolder>;
  /** Another connection to the same source, so folders can be read side by side; absent when `open` may already be called concurrently. */
  fork?(): Promise<MessageSource>;
  close(): Promise<void>;
}

/** The source failed (refused the login, dropped the connection, answered NO): one line for the user. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(
    message: string,
    /** The source answered the command with NO or BAD (RFC 3501 §7.1.2-3) and is still there to ask again. */
    readonly refused = false,
  ) {
    super(message);
  }
}
