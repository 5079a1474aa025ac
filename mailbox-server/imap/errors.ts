// The error an IMAP command handler throws: it carries the tagged answer it maps to
// (RFC 3501 §7.1 NO/BAD with an RFC 5530 response code), so the mapping is written once.
import { StoreError } from '../../core/store/types.ts';

export class ImapError extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    message: string,
    /** Response code without brackets, e.g. "TRYCREATE" or "NONEXISTENT". */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export const no = (message: string, code: string | null = null) => new ImapError('NO', message, code);
export const bad = (message: string, code: string | null = null) => new ImapError('BAD', message, code);

/** Store failures as IMAP answers (RFC 5530 codes); anything else is a server fault. */
export function imapErrorFromStore(err: unknown): ImapError | null {
  if (err instanceof ImapError) return err;
  if (!(err instanceof StoreError)) return null;
  switch (err.code) {
    case 'not-found':
      return no(err.message, 'NONEXISTENT');
    case 'exists':
      return no(err.message, 'ALREADYEXISTS');
    case 'not-empty':
      return no(err.message, 'INUSE');
    case 'invalid':
      return no(err.message, 'CANNOT');
    case 'conflict':
      return no('Server busy, try again', 'UNAVAILABLE');
  }
}
