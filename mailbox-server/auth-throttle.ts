// Login throttling shared by IMAP and POP3: failed logins slow down further attempts
// per client IP and per account name, with an exponential delay, so guessing is slow.

export interface AuthThrottleOptions {
  /** Failures that are free before any delay starts. */
  freeFailures?: number;
  /** Delay after the first counted failure, doubled with each further one. */
  baseDelayMs?: number;
  /** Upper bound of the delay. */
  maxDelayMs?: number;
  /** A counter forgets its failures after this long without a new one. */
  forgetAfterMs?: number;
  /** Bound on tracked keys, so a flood of names cannot grow memory without limit. */
  maxEntries?: number;
  now?: () => number;
}

interface FailureRecord {
  failures: number;
  lastFailureAt: number;
}

/**
 * A failure-counter cache keyed by `ip:<addr>` and `account:<name>`. One instance per
 * server process; both protocols share it so a guesser cannot alternate between them.
 *
 * The delay applies to every attempt (success or not) from a throttled IP or against a
 * throttled account, and is taken before the password is checked, so the answer time
 * does not reveal whether the account exists or the password was right (no enumeration).
 */
export class AuthThrottleCache {
  private readonly failureCache = new Map<string, FailureRecord>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: AuthThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds to wait before checking a login from `ip` for `account`. */
  delayFor(ip: string, account: string): number {
    return Math.max(this.delayOf(ipKey(ip)), this.delayOf(accountKey(account)));
  }

  /** Wait the throttle delay (resolves immediately when nothing is throttled). */
  async wait(ip: string, account: string, signal?: AbortSignal): Promise<void> {
    const ms = this.delayFor(ip, account);
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  recordFailure(ip: string, account: string): void {
    this.bump(ipKey(ip));
    if (account) this.bump(accountKey(account));
  }

  /** A success clears the IP's and the account's counters. */
  recordSuccess(ip: string, account: string): void {
    this.failureCache.delete(ipKey(ip));
    this.failureCache.delete(accountKey(account));
  }

  private delayOf(key: string): number {
    const record = this.failureCache.get(key);
    if (!record) return 0;
    if (this.now() - record.lastFailureAt > this.forgetAfterMs) {
      this.failureCache.delete(key);
      return 0;
    }
    const counted = record.failures - this.freeFailures;
    if (counted <= 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(counted - 1, 30));
  }

  private bump(key: string): void {
    const now = this.now();
    const record = this.failureCache.get(key);
    if (record && now - record.lastFailureAt <= this.forgetAfterMs) {
      record.failures += 1;
      record.lastFailureAt = now;
      // Re-insert so Map order stays least-recently-failed first for eviction.
      this.failureCache.delete(key);
      this.failureCache.set(key, record);
      return;
    }
    this.failureCache.delete(key);
    if (this.failureCache.size >= this.maxEntries) {
      const oldest = this.failureCache.keys().next();
      if (!oldest.done) this.failureCache.delete(oldest.value);
    }
    this.failureCache.set(key, { failures: 1, lastFailureAt: now });
  }
}

const ipKey = (ip: string) => `ip:${ip}`;
// Account names are case-insensitive addresses: "Bob@x" and "bob@x" share a counter.
const accountKey = (account: string) => `account:${account.trim().toLowerCase()}`;
