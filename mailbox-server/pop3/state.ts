// POP3 session states (RFC 1939 §3) as a discriminated union, and which commands each state
// accepts, as a table: a handler that needs a maildrop receives one and never checks for it.
import type { MaildropLease } from '../../core/store/maildrop-lock.ts';
import type { Maildrop } from './maildrop.ts';

export type Pop3State =
  /** RFC 1939 §4: before login; `pendingUser` is the name a USER command gave, for the next PASS. */
  | { readonly kind: 'authorization'; readonly pendingUser: string | null }
  /** RFC 1939 §5: logged in, holding the maildrop lock. */
  | { readonly kind: 'transaction'; readonly account: string; readonly maildrop: Maildrop; readonly lease: MaildropLease }
  /** RFC 1939 §6: after QUIT, while deletions are expunged; no command is read any more. */
  | { readonly kind: 'update' };

export type Pop3StateKind = Pop3State['kind'];
export type StateOf<K extends Pop3StateKind> = Extract<Pop3State, { kind: K }>;

/**
 * RFC 1939 §4-§7, RFC 2449 §5 (CAPA in both states), RFC 2595 §4 (STLS before login only),
 * RFC 5034 §4 (AUTH before login only). APOP is not offered: it needs the plaintext password.
 */
export const COMMANDS_BY_STATE = {
  authorization: ['CAPA', 'STLS', 'USER', 'PASS', 'AUTH', 'QUIT'],
  transaction: ['CAPA', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL', 'QUIT'],
  update: [],
} as const satisfies Record<Pop3StateKind, readonly string[]>;

export type Pop3CommandName = (typeof COMMANDS_BY_STATE)[Pop3StateKind][number];

/** The states in which `keyword` is a valid command (empty for an unknown keyword). */
export function statesAccepting(keyword: string): Pop3StateKind[] {
  return (Object.keys(COMMANDS_BY_STATE) as Pop3StateKind[]).filter((kind) =>
    (COMMANDS_BY_STATE[kind] as readonly string[]).includes(keyword),
  );
}
