// The capability list (RFC 3501 §7.2.1), which depends on the connection: STARTTLS and AUTH=
// before login, LOGINDISABLED on cleartext from a remote client (RFC 3501 §6.2.3, RFC 8314 spirit).
// IMAP4rev2 beside IMAP4rev1: a client chooses rev2 with ENABLE (RFC 9051 §6.3.1, ./rev2.ts).

export interface CapabilityContext {
  readonly authenticated: boolean;
  readonly secure: boolean;
  /** Whether LOGIN/AUTHENTICATE may be used on this connection now. */
  readonly cleartextAuthAllowed: boolean;
  readonly appendLimit: number;
}

const extensions = ['LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'MOVE', 'UNSELECT', 'CHILDREN', 'SPECIAL-USE', 'CONDSTORE', 'ESEARCH', 'SEARCHRES', 'WITHIN', 'LIST-EXTENDED', 'LIST-STATUS', 'CREATE-SPECIAL-USE', 'STATUS=SIZE', 'QUOTA', 'QUOTA=RES-STORAGE', 'SORT', 'SORT=DISPLAY', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES', 'SAVEDATE', 'OBJECTID', 'PREVIEW', 'BINARY', 'QRESYNC', 'MULTIAPPEND', 'UNAUTHENTICATE', 'UTF8=ACCEPT'];
// Usable only once logged in, so offered only then (RFC 3501 §7.2.1 lets the list change at login).
const afterLogin = ['COMPRESS=DEFLATE'];

export function capabilityList(context: CapabilityContext): string[] {
  const caps = ['IMAP4rev1', 'IMAP4rev2', ...extensions, `APPENDLIMIT=${context.appendLimit}`];
  if (context.authenticated) return [...caps, ...afterLogin];
  if (!context.secure) caps.push('STARTTLS');
  if (context.cleartextAuthAllowed) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
  else caps.push('LOGINDISABLED');
  return caps;
}
