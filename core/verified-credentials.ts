// Passwords this process has verified recently, so a client that logs in again (a new IMAP
// connection, a POP3 poll) costs a keyed hash instead of scrypt. The choice and its threat model:
// docs/decisions/0020-verified-credential-cache.md.
import { createHmac, randomBytes } from 'node:crypto';
import { verifyPassword } from './passwords.ts';

export interface VerifiedCredentialLimits {
  /** How long a verification is trusted, counted from the scrypt check (a hit does not extend it). */
  readonly ttlMs: number;
  /** Entries kept; the oldest goes first. */
  readonly maxEntries: number;
}

export const DEFAULT_VERIFIED_CREDENTIAL_LIMITS: VerifiedCredentialLimits = { ttlMs: 5 * 60_000, maxEntries: 10_000 };

export interface VerifiedCredentialOptions extends Partial<VerifiedCredentialLimits> {
  /** The slow check (core/passwords.ts); replaceable so tests can count its calls. */
  readonly verify?: (password: string, stored: string | null) => Promise<boolean>;
  readonly now?: () => number;
}

/**
 * A set of keyed hashes of (account, stored password hash, password) that scrypt has accepted.
 * The stored hash is part of the key, and the directory reads it on every login anyway, so a
 * changed password (a new salt and key) matches no entry: the old password is refused at once,
 * with nothing to invalidate. Only successes are remembered; a wrong password or an unknown
 * account always costs the full check, and the failed-login throttle (core/login-failures.ts)
 * runs before this is asked, as it did before.
 */
export class VerifiedCredentialCache {
  /** Per process and never written anywhere: the entries are worthless without it. */
  private readonly key = randomBytes(32);
  /** Keyed hash → time it expires; insertion order is expiry order (the TTL is fixed). */
  private readonly entries = new Map<string, number>();
  private readonly limits: VerifiedCredentialLimits;
  private readonly slowVerify: (password: string, stored: string | null) => Promise<boolean>;
  private readonly now: () => number;

  constructor(options: VerifiedCredentialOptions = {}) {
    this.limits = {
      ttlMs: options.ttlMs ?? DEFAULT_VERIFIED_CREDENTIAL_LIMITS.ttlMs,
      maxEntries: options.maxEntries ?? DEFAULT_VERIFIED_CREDENTIAL_LIMITS.maxEntries,
    };
    this.slowVerify = options.verify ?? verifyPassword;
    this.now = options.now ?? Date.now;
  }

  /**
   * True when `password` matches `stored` for `account`, as core/passwords.ts verifyPassword
   * answers, but without scrypt when the same triple was accepted within the TTL.
   * `stored` null (no such account) always takes the slow path, so timing tells nothing.
   */
  async verify(account: string, password: string, stored: string | null): Promise<boolean> {
    if (stored === null || this.limits.maxEntries <= 0 || this.limits.ttlMs <= 0) return this.slowVerify(password, stored);
    const id = this.idOf(account, password, stored);
    const now = this.now();
    this.dropExpired(now);
    if (this.entries.has(id)) return true;
    const ok = await this.slowVerify(password, stored);
    if (!ok) return false;
    this.entries.delete(id);
    while (this.entries.size >= this.limits.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(id, this.now() + this.limits.ttlMs);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Expired entries are removed, not only ignored, so a memory image holds only the last TTL's logins. */
  private dropExpired(now: number): void {
    for (const [id, expiresAt] of this.entries) {
      if (expiresAt > now) break;
      this.entries.delete(id);
    }
  }

  /** Length-prefixed fields, so no two triples share an encoding. */
  private idOf(account: string, password: string, stored: string): string {
    const hmac = createHmac('sha256', this.key);
    for (const field of [account.toLowerCase(), stored, password.normalize('NFC')]) {
      const bytes = Buffer.from(field, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return hmac.digest('base64');
  }
}
