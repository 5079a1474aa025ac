// Mailbox names: validation and the one normal form used in keys (RFC 3501 §5.1).
import { StoreError, type SpecialUse } from './types.ts';

/** Hierarchy delimiter announced by LIST (RFC 3501 §6.3.8). */
export const DELIMITER = '/';
const MAX_NAME = 512;

/** The mailboxes every account starts with, with their RFC 6154 SPECIAL-USE attribute. */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ readonly name: string; readonly specialUse: SpecialUse | null }> = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

/**
 * The stored form of a mailbox name. `INBOX` is case-insensitive (RFC 3501 §5.1), also as the
 * first level of a hierarchy (`inbox/x` is `INBOX/x`); every other name is case-sensitive and
 * kept in Unicode NFC. Throws StoreError('invalid') for names no client should be able to create.
 */
export function normaliseMailboxName(input: string): string {
  let name = input.normalize('NFC');
  if (/^inbox(\/|$)/i.test(name)) name = 'INBOX' + name.slice(5);
  const bad =
    !name ||
    name.length > MAX_NAME ||
    name.startsWith(DELIMITER) ||
    name.endsWith(DELIMITER) ||
    name.includes(DELIMITER + DELIMITER) ||
    // Control characters cannot be sent; `*` and `%` are LIST wildcards (RFC 3501 §6.3.8).
    /[\x00-\x1f\x7f*%]/.test(name);
  if (bad) throw new StoreError('invalid', 'Invalid mailbox name');
  return name;
}

/** True for INBOX itself (not its children), which can be neither deleted nor renamed away here. */
export function isInbox(name: string): boolean {
  return name === 'INBOX';
}
