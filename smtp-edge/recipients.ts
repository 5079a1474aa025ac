// RCPT TO policy (RFC 5321 §3.3, §4.5.3.1.10): which recipients the edge accepts, answered
// from the Directory through a short-lived cache so an RCPT flood is not a DynamoDB flood.
import { addressKey, parseAddress } from '../core/addresses.ts';
import { SmtpError, temporaryFailure } from '../core/errors.ts';
import type { Directory, RecipientRoute } from '../core/store/types.ts';

/**
 * Recipient routes by address key, kept for `ttlMs`. Concurrent lookups of one key share a
 * single Directory call. Failures are not cached: the next RCPT asks the store again.
 */
export class RecipientRouteCache {
  private readonly routes = new Map<string, { route: RecipientRoute; expiresAt: number }>();
  private readonly lookups = new Map<string, Promise<RecipientRoute>>();

  constructor(
    private readonly directory: Directory,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(key: string): Promise<RecipientRoute> {
    const cached = this.routes.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.route;
    if (cached) this.routes.delete(key);
    const pending = this.lookups.get(key);
    if (pending) return pending;
    const lookup = this.directory.resolveRecipient(key).then(
      (route) => {
        this.lookups.delete(key);
        // Map keeps insertion order: dropping the first entry drops the oldest
        if (this.routes.size >= this.maxEntries) this.routes.delete(this.routes.keys().next().value!);
        if (this.ttlMs > 0) this.routes.set(key, { route, expiresAt: this.now() + this.ttlMs });
        return route;
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

export const RECIPIENT_REPLIES = {
  syntax: () => new SmtpError(501, '5.1.3', 'Bad recipient address syntax'),
  unknownUser: () => new SmtpError(550, '5.1.1', 'No such user here'),
  relayDenied: () => new SmtpError(554, '5.7.1', 'Relay access denied'),
};

export interface RecipientDecision {
  /** The address in normal form (domain lowercased, IDNA), as put in the inbound event. */
  readonly address: string;
  readonly route: RecipientRoute;
}

/**
 * Local account, alias or catch-all → accepted; unknown user of a local domain → 550 5.1.1;
 * another domain → accepted only for an authenticated session (relay), else 554 5.7.1
 * (DESIGN.md invariant 5); a store failure → 451 4.3.0 so the sender retries.
 */
export async function decideRecipient(
  raw: string,
  authenticated: boolean,
  cache: RecipientRouteCache,
  onStoreError: (err: unknown) => void,
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
  if (route.kind === 'unknown-local') throw RECIPIENT_REPLIES.unknownUser();
  if (route.kind === 'remote' && !authenticated) throw RECIPIENT_REPLIES.relayDenied();
  return { address: parsed.address, route };
}
