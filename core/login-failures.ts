// Counting failed logins, and the throttle they drive, for every service that checks passwords (SMTP AUTH, IMAP LOGIN, POP3 USER/PASS),
// through core/login.ts: failures slow further attempts per client IP and per account, and an IP
// that keeps failing is refused.

export interface AuthThrottleOptions {
  /** Failures (per IP, per account) that cost nothing; delays start after them. */
  readonly freeFailures?: number;
  /** Delay after the first counted failure; doubled with each further one. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * Failures from one IP after which its attempts are refused without checking the password.
   * Only IPs are locked out: locking accounts would let anyone lock a user out of their mail,
   * so an account under attack is only slowed down.
   */
  readonly lockoutFailures?: number;
  /** A counter forgets its failures this long after the last one. */
  readonly forgetAfterMs?: number;
  /** Bound on tracked keys, so a flood of made-up names cannot grow memory without limit. */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

/** What to do with a login attempt before its password is looked at. */
export interface AuthVerdict {
  /** Refuse at once (the client IP is locked out). */
  readonly refuse: boolean;
  /** Wait this long before checking the password. */
  readonly delayMs: number;
}

interface FailureRecord {
  failures: number;
  lastFailureAt: number;
}

export const DEFAULT_AUTH_THROTTLE = {
  freeFailures: 2,
  baseDelayMs: 1000,
  maxDelayMs: 15_000,
  lockoutFailures: 10,
  forgetAfterMs: 15 * 60_000,
  maxEntries: 100_000,
} as const;

/**
 * Login failure counters keyed by `ip:<addr>` and `account:<name>`, in memory, one per process
 * (a cache: a restart or another task starts from zero, which costs an attacker little time
 * and the store nothing). The delay is applied to every attempt from a throttled IP or
 * against a throttled account, right or wrong, and before the password is checked, so the
 * answer time reveals neither whether the account exists nor whether the password was right.
 */
export class LoginFailureCounter {
  private readonly failureCache = new Map<string, FailureRecord>();
  /** Attempts admitted by `reserve` and not settled yet, per IP, and the attempts queued behind them. */
  private readonly inFlight = new Map<string, { count: number; waiters: Array<() => void> }>();
  private readonly settings: Required<Omit<AuthThrottleOptions, 'now'>>;
  private readonly now: () => number;

  constructor(options: AuthThrottleOptions = {}) {
    const { now, ...rest } = options;
    this.settings = { ...DEFAULT_AUTH_THROTTLE, ...stripUndefined(rest) };
    this.now = now ?? Date.now;
  }

  /** What to do with an attempt from `ip` for `account`, without counting it (see reserve). */
  verdict(ip: string, account: string): AuthVerdict {
    const ipFailures = this.failuresOf(ipKey(ip));
    if (ipFailures >= this.settings.lockoutFailures) return { refuse: true, delayMs: 0 };
    const accountFailures = account ? this.failuresOf(accountKey(account)) : 0;
    return { refuse: false, delayMs: Math.max(this.delayAfter(ipFailures), this.delayAfter(accountFailures)) };
  }

  /** Milliseconds to wait before checking a login from `ip` for `account`. */
  delayFor(ip: string, account: string): number {
    return this.verdict(ip, account).delayMs;
  }

  /**
   * Admits an attempt before its password is checked. An IP may have only as many attempts in
   * flight as it has failures left before the lockout: a burst of parallel guesses cannot all be
   * checked before the first failures are counted. One over that waits (`queued`) until one of the
   * IP's attempts settles and then asks again; an admitted one must be settled with `settle`.
   * Successful logins made at once from one address (a client opening several connections,
   * users behind one NAT) are not refused, only queued behind each other.
   * `account` is the canonical account (core/login.ts), or '' for a name that names none.
   */
  reserve(ip: string, account: string): AuthVerdict | { readonly queued: Promise<void> } {
    const verdict = this.verdict(ip, account);
    if (verdict.refuse) return verdict;
    const inFlight = this.inFlight.get(ip);
    if (inFlight && this.failuresOf(ipKey(ip)) + inFlight.count >= this.settings.lockoutFailures) {
      return { queued: new Promise<void>((resolve) => inFlight.waiters.push(resolve)) };
    }
    if (inFlight) inFlight.count++;
    else this.inFlight.set(ip, { count: 1, waiters: [] });
    return verdict;
  }

  /** Ends an admitted attempt: a failure is counted, a success clears the account, `unjudged` counts nothing. */
  settle(ip: string, account: string, outcome: 'failed' | 'succeeded' | 'unjudged'): void {
    if (outcome === 'failed') this.recordFailure(ip, account);
    if (outcome === 'succeeded') this.recordSuccess(ip, account);
    const inFlight = this.inFlight.get(ip);
    if (!inFlight) return;
    inFlight.count--;
    // Wake the waiters only now that the failure is counted, so they see it.
    const waiters = inFlight.waiters.splice(0);
    if (inFlight.count <= 0 && inFlight.waiters.length === 0) this.inFlight.delete(ip);
    for (const wake of waiters) wake();
  }

  recordFailure(ip: string, account: string): void {
    this.bump(ipKey(ip));
    if (account.trim()) this.bump(accountKey(account));
  }

  /**
   * A success clears the account's counter, not the IP's: otherwise a guesser holding one
   * valid account could reset its IP between guesses at others.
   */
  recordSuccess(_ip: string, account: string): void {
    this.failureCache.delete(accountKey(account));
  }

  private failuresOf(key: string): number {
    const record = this.failureCache.get(key);
    if (!record) return 0;
    if (this.now() - record.lastFailureAt > this.settings.forgetAfterMs) {
      this.failureCache.delete(key);
      return 0;
    }
    return record.failures;
  }

  /** The first `freeFailures` failures cost nothing; each one after them doubles the delay from baseDelayMs. */
  private delayAfter(failures: number): number {
    const over = failures - this.settings.freeFailures;
    if (over <= 0) return 0;
    return Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** Math.min(over - 1, 30));
  }

  private bump(key: string): void {
    const failures = this.failuresOf(key) + 1;
    // delete then set: Map order stays least-recently-failed first, which is what gets evicted
    this.failureCache.delete(key);
    if (this.failureCache.size >= this.settings.maxEntries) {
      const oldest = this.failureCache.keys().next();
      if (!oldest.done) this.failureCache.delete(oldest.value);
    }
    this.failureCache.set(key, { failures, lastFailureAt: this.now() });
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const ipKey = (ip: string) => `ip:${ip}`;
// Account names are addresses compared case-insensitively: "Bob@x" and "bob@x" share a counter.
const accountKey = (account: string) => `account:${account.trim().toLowerCase()}`;
