// IMAP session states (RFC 3501 §3) as a discriminated union, and which commands each state
// accepts, as data: the dispatcher consults the table, handlers receive the state they need.
import type { ImapCommandName } from './wire/ast.ts';
import type { MailboxView } from './mailbox-view.ts';

export type SessionState =
  | { readonly kind: 'notAuthenticated' }
  | { readonly kind: 'authenticated'; readonly account: string }
  | { readonly kind: 'selected'; readonly account: string; readonly view: MailboxView }
  | { readonly kind: 'logout' };

export type StateKind = SessionState['kind'];
export type AuthenticatedState = Extract<SessionState, { kind: 'authenticated' }>;
export type SelectedState = Extract<SessionState, { kind: 'selected' }>;
/** Authenticated or selected: a user is known. */
export type UserState = AuthenticatedState | SelectedState;

const any: readonly StateKind[] = ['notAuthenticated', 'authenticated', 'selected'];
const notAuthenticated: readonly StateKind[] = ['notAuthenticated'];
const user: readonly StateKind[] = ['authenticated', 'selected'];
const selected: readonly StateKind[] = ['selected'];

/** RFC 3501 §6.1-§6.4 (and the extensions) : the states in which each command is valid. */
export const allowedStates: Readonly<Record<ImapCommandName, readonly StateKind[]>> = {
  CAPABILITY: any,
  NOOP: any,
  LOGOUT: any,
  ID: any,
  STARTTLS: notAuthenticated,
  AUTHENTICATE: notAuthenticated,
  LOGIN: notAuthenticated,
  ENABLE: user,
  // RFC 4978 §3: after authentication, which also puts it after any STARTTLS (TLS below DEFLATE).
  COMPRESS: user,
  SELECT: user,
  EXAMINE: user,
  CREATE: user,
  DELETE: user,
  RENAME: user,
  SUBSCRIBE: user,
  UNSUBSCRIBE: user,
  LIST: user,
  LSUB: user,
  STATUS: user,
  APPEND: user,
  NAMESPACE: user,
  GETQUOTA: user,
  GETQUOTAROOT: user,
  SETQUOTA: user,
  IDLE: user,
  UNAUTHENTICATE: user,
  CHECK: selected,
  CLOSE: selected,
  UNSELECT: selected,
  EXPUNGE: selected,
  SEARCH: selected,
  SORT: selected,
  THREAD: selected,
  FETCH: selected,
  STORE: selected,
  COPY: selected,
  MOVE: selected,
};
