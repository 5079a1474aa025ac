// RCPT TO policy (RFC 5321 §3.3, §4.5.3.1.10): which recipients the edge accepts, answered
// from the Directory through a short-lived cache so an RCPT flood is not a DynamoDB flood.
import { addressKey, parseAddress } from '../core/addresses.ts';
import { SmtpError, temporaryFailure } from '../core/smtp-reply.ts';
import { fitsInQuota } from '../core/store/quota.ts';
import { isSrsLocalPart, type SenderRewriting } from '../core/srs.ts';
import type { Directory, QuotaUsage, RecipientRoute } from '../core/store/types.ts';

/**
 * Answers by key, kept for `ttlMs`. Concurrent lookups of one key share a single load.
 * Failures are not cached: the next RCPT asks the store again.
 */
export class TtlLookupCache<V> {
  private readonly answers = new Map<string, { value: V; expiresAt: number }>();
  private readonly lookups = new Map<string, Promise<V>>();

  constructor(
    private readonly load: (key: string) => Promise<V>,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  async get(key: string): Promise<V> {
    const cached = this.answers.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    if (cached) this.answers.delete(key);
    const pending = this.lookups.get(key);
    if (pending) return pending;
    const lookup = this.load(key).then(
      (value) => {
        this.lookups.delete(key);
        // Map keeps insertion order: dropping the first entry drops the oldest
        if (this.answers.size >= this.maxEntries) this.answers.delete(this.answers.keys().next().value!);
        if (this.ttlMs > 0) this.answers.set(key, { value, expiresAt: this.now() + this.ttlMs });
        return value;
      },
      (err: unknown) => {
        this.lookups.delete(key);
        throw err;
      },
    );
    this.lookups.set(key, lookup);
    return lookup;
  }
}

/** Recipient routes by address key, kept for `ttlMs`, so an RCPT flood is not a DynamoDB flood. */
export class RecipientRouteCache {
  private readonly cache: TtlLookupCache<RecipientRoute>;

  constructor(directory: Directory, ttlMs: number, maxEntries = 10_000, now: () => number = Date.now) {
    this.cache = new TtlLookupCache((key) => directory.resolveRecipient(key), ttlMs, maxEntries, now);
  }

  resolve(key: string): Promise<RecipientRoute> {
    return this.cache.get(key);
  }
}

/**
 * Quota and usage by account key, kept as long as routes: at most one directory read (and, for
 * an account with a quota, one usage read) per account per TTL, however many RCPTs name it.
 * Usage is therefore up to one TTL stale: an account can go over by what arrives meanwhile.
 */
export class QuotaUsageCache {
  private readonly cache: TtlLookupCache<QuotaUsage | null>;

  constructor(lookup: (account: string) => Promise<QuotaUsage | null>, ttlMs: number, maxEntries = 10_000, now: () => number = Date.now) {
    this.cache = new TtlLookupCache(lookup, ttlMs, maxEntries, now);
  }

  usage(account: string): Promise<QuotaUsage | null> {
    return this.cache.get(account);
  }
}

/**
 * RFC 5321 §4.1.1.3: `RCPT TO:<Postmaster>`, without a domain, names this server's postmaster:
 * the postmaster of our host name, or of the nearest parent of it that is a local domain
 * (mx.example.org → example.org); null when neither is local (the host name should be). Kept as
 * long as routes, so a flood of such RCPTs is not a flood of lookups.
 */
export class BarePostmasterDomain {
  private readonly cache: TtlLookupCache<string | null>;

  constructor(directory: Pick<Directory, 'isLocalDomain'>, hostname: string, ttlMs: number, now: () => number = Date.now) {
    this.cache = new TtlLookupCache(
      async () => {
        const labels = hostname.toLowerCase().replace(/\.$/, '').split('.');
        for (let i = 0; i < Math.max(1, labels.length - 1); i++) {
          const domain = labels.slice(i).join('.');
          if (await directory.isLocalDomain(domain)) return domain;
        }
        return null;
      },
      ttlMs,
      1,
      now,
    );
  }

  domain(): Promise<string | null> {
    return this.cache.get('postmaster');
  }
}

export const RECIPIENT_REPLIES = {
  syntax: () => new SmtpError(501, '5.1.3', 'Bad recipient address syntax'),
  unknownUser: () => new SmtpError(550, '5.1.1', 'No such user here'),
  relayDenied: () => new SmtpError(554, '5.7.1', 'Relay access denied'),
  // RFC 3463 §3.3: X.2.2 mailbox full "should be used as a persistent transient failure", so the
  // 4xx form: RFC 5321 §4.2.3 452 (insufficient storage) keeps the mail in the sender's queue
  // while the user frees space, where 552 would bounce it at once.
  mailboxFull: () => new SmtpError(452, '4.2.2', 'Mailbox full, try again later'),
};

export interface RecipientDecision {
  /** The address in normal form (domain lowercased, IDNA), as put in the inbound event. */
  readonly address: string;
  readonly route: RecipientRoute;
}

/** The quota check of RCPT: the cache, and how big the message says it will be. */
export interface RecipientQuotaCheck {
  readonly cache: QuotaUsageCache;
  /** RFC 1870 SIZE of MAIL FROM when given, else 1 (is any room left at all). */
  readonly messageBytes: number;
  /** A failed quota read is logged and the recipient accepted: a quota is no reason to hold mail back. */
  readonly onError: (err: unknown) => void;
}

/**
 * Local account, alias or catch-all → accepted; unknown user of a local domain → 550 5.1.1;
 * another domain → accepted only for an authenticated session (relay), else 554 5.7.1
 * (docs/ARCHITECTURE.md, invariant 5); a store failure → 451 4.3.0 so the sender retries. A local route
 * whose accounts are all out of room (and that forwards nowhere) → 452 4.2.2: an alias with one
 * target that still has room is accepted, and the full targets get the mail anyway (the
 * inbound function files past the quota once the edge has said 250 rather than lose mail).
 * An SRS address of a local domain (core/srs.ts: a bounce of mail we forwarded) is accepted when
 * its hash is ours and its timestamp current, and routed to the sender it stands for; a forged
 * or expired one is an unknown user (550 5.1.1), whatever catch-all the domain has.
 */
export async function decideRecipient(
  raw: string,
  authenticated: boolean,
  cache: RecipientRouteCache,
  onStoreError: (err: unknown) => void,
  quota?: RecipientQuotaCheck,
  srs?: SenderRewriting,
): Promise<RecipientDecision> {
  const parsed = parseAddress(raw);
  const key = addressKey(raw);
  if (!parsed || !key) throw RECIPIENT_REPLIES.syntax();
  let route: RecipientRoute;
  try {
    route = await cache.resolve(key);
  } catch (err) {
    onStoreError(err);
    throw temporaryFailure();
  }
  if (srs && route.kind !== 'remote' && isSrsLocalPart(parsed.local)) {
    const back = srs.reverse(parsed.local);
    if (back.kind !== 'original') throw RECIPIENT_REPLIES.unknownUser();
    return { address: parsed.address, route: { kind: 'local', accounts: [], forwards: [back.address] } };
  }
  if (route.kind === 'unknown-local') throw RECIPIENT_REPLIES.unknownUser();
  if (route.kind === 'remote' && !authenticated) throw RECIPIENT_REPLIES.relayDenied();
  if (route.kind === 'local' && quota && route.accounts.length > 0 && !route.forwards?.length) {
    const usages = await Promise.all(
      route.accounts.map((account) =>
        quota.cache.usage(account).catch((err: unknown) => {
          quota.onError(err);
          return null;
        }),
      ),
    );
    if (usages.every((usage) => !fitsInQuota(usage, quota.messageBytes))) throw RECIPIENT_REPLIES.mailboxFull();
  }
  return { address: parsed.address, route };
}
