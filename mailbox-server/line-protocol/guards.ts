// The guards every IMAP and POP3 connection gets whatever it says, as smtp-server gives every
// SMTP connection its own: a cap on bad commands, a login deadline counted from connect, an
// inactivity timer after login, the refusal of an HTTP request sent to a mail port, back-pressure
// on pipelined input, and a bounded wait for the last response to drain on close.

/** Framed commands waiting to run; above this the socket is paused (back-pressure on pipelining). */
export const MAX_QUEUED_EVENTS = 64;

/** How long a closing socket may take to flush its last response before it is destroyed. */
export const CLOSE_GRACE_MS = 5_000;

/** Loopback, where a cleartext login cannot be overheard (RFC 8314 §3, RFC 3501 §6.2.3). */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

const HTTP_REQUEST_LINE = /^(?:GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH|TRACE) \S+ HTTP\/\d(?:\.\d)?$/i;

/**
 * A browser, a proxy or a cross-protocol attack (ALPACA) speaking HTTP to a mail port: the
 * request line is refused once and the connection closed, rather than every header line being
 * answered as a bad command.
 */
export function isHttpRequestLine(line: string): boolean {
  return HTTP_REQUEST_LINE.test(line.trim());
}

/**
 * Bad commands (unknown, malformed, not valid in the state) a connection may send: `max` are
 * answered, the one after them closes the connection.
 */
export class BadCommandLimit {
  private count = 0;
  constructor(private readonly max: number) {}

  /** Counts one bad command; true when the connection must now close. */
  exceeded(): boolean {
    this.count += 1;
    return this.count > this.max;
  }
}

/**
 * The two clocks of a connection (RFC 3501 §5.4, RFC 1939 §3): a login deadline set at connect,
 * which bytes trickled in do not extend, and after login an inactivity timer re-armed by each
 * command. `expire` gets the reason to give the client.
 */
export class ConnectionClocks {
  private loginTimer: NodeJS.Timeout | null;
  private idleTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly limits: { readonly loginDeadlineMs: number; readonly idleTimeoutMs: number },
    private readonly expire: (reason: 'login-deadline' | 'idle') => void,
  ) {
    this.loginTimer = setTimeout(() => this.fire('login-deadline'), limits.loginDeadlineMs);
  }

  /** Logged in: the deadline is over, the inactivity timer starts. */
  loggedIn(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    this.activity();
  }

  /** Logged out without closing (IMAP UNAUTHENTICATE, RFC 8437): a fresh login deadline. */
  loggedOut(): void {
    if (this.stopped) return;
    this.pause();
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = setTimeout(() => this.fire('login-deadline'), this.limits.loginDeadlineMs);
  }

  /** A command arrived or finished after login: the inactivity timer starts again. */
  activity(): void {
    if (this.stopped || this.loginTimer) return;
    this.pause();
    this.idleTimer = setTimeout(() => this.fire('idle'), this.limits.idleTimeoutMs);
  }

  /** A command is running (an IDLE, a long FETCH): inactivity is not counted while it does. */
  pause(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  stop(): void {
    this.stopped = true;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    this.pause();
  }

  private fire(reason: 'login-deadline' | 'idle'): void {
    if (this.stopped) return;
    this.stop();
    this.expire(reason);
  }
}
