// Mailbox names between the wire (modified UTF-7, RFC 3501 §5.1.3) and the store (Unicode,
// normalised). Names are only ever resolved inside the session's own account (invariant 4).
import { normaliseMailboxName } from '../../core/store/mailbox-names.ts';
import { StoreError } from '../../core/store/types.ts';
import { decodeMailboxName, encodeMailboxName, Mutf7Error } from '../../core/mutf7.ts';
import { no } from './errors.ts';

/** The store name for a wire name; a malformed name is NO [CANNOT], never a lookup. */
export function mailboxNameFromWire(wire: string): string {
  let name: string;
  try {
    name = decodeMailboxName(wire);
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

export const mailboxNameToWire = (name: string): string => encodeMailboxName(name);
