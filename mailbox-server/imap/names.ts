// Mailbox names between the wire (modified UTF-7, RFC 3501 §5.1.3; plain UTF-8 once the client
// has enabled RFC 6855 UTF8=ACCEPT) and the store (Unicode, normalised). Names are only ever
// resolved inside the session's own account (invariant 4).
import { normaliseMailboxName } from '../../core/store/mailbox-names.ts';
import { StoreError } from '../../core/store/types.ts';
import { decodeMailboxName, encodeMailboxName, Mutf7Error } from '../../core/mutf7.ts';
import { no } from './errors.ts';
import { Utf8String } from './wire/writer.ts';

/**
 * RFC 6855 §3: after ENABLE UTF8=ACCEPT mailbox names travel as UTF-8, in both directions; so do an
 * IMAP4rev2 session's (RFC 9051 §5.1: modified UTF-7 is IMAP4rev1's).
 */
export const utf8Names = (enabled: ReadonlySet<string>): boolean => enabled.has('UTF8=ACCEPT') || enabled.has('IMAP4REV2');

/** The store name for a wire name; a malformed name is NO [CANNOT], never a lookup. */
export function mailboxNameFromWire(wire: string, utf8 = false): string {
  let name: string;
  try {
    name = utf8 ? wire : decodeMailboxName(wire);
  } catch (err) {
    if (err instanceof Mutf7Error) throw no(`Invalid mailbox name: ${err.message}`, 'CANNOT');
    throw err;
  }
  try {
    return normaliseMailboxName(name);
  } catch (err) {
    if (err instanceof StoreError) throw no('Invalid mailbox name', 'CANNOT');
    throw err;
  }
}

export const mailboxNameToWire = (name: string, utf8 = false): string => (utf8 ? name : encodeMailboxName(name));

/** A mailbox name as a response value: UTF8-quoted (RFC 6855) or modified UTF-7. */
export const mailboxNameValue = (name: string, utf8: boolean): string | Utf8String => (utf8 ? new Utf8String(name) : encodeMailboxName(name));
