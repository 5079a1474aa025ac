// DNS for message authentication (SPF, DKIM, DMARC, ARC): a bounded answer cache shared by every
// message, and a per-message view of it with a total time budget. Whatever the budget cuts off
// is a DNS timeout to the checks, which report temperror (RFC 7208 §2.6.6, RFC 6376 §6.1.2);
// it never holds a message past the budget.

/** A lookup as `dns.promises.Resolver#resolve` answers it (TXT as string[][], MX as objects). */
export type DnsResolve = (name: string, rrtype: string) => Promise<unknown>;

export interface DnsCacheOptions {
  /** Answers kept at most; the oldest goes first. */
  readonly maxEntries: number;
  /** How long an answer is reused (the resolver API gives no TTLs, so a fixed one). */
  readonly positiveTtlMs: number;
  /** How long "no such name" / "no such record" is reused. */
  readonly negativeTtlMs: number;
}

export const DEFAULT_DNS_CACHE: DnsCacheOptions = { maxEntries: 10_000, positiveTtlMs: 5 * 60_000, negativeTtlMs: 60_000 };

/** Codes that say the name or record does not exist: answers, not failures, so cached too. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

type Entry = { readonly expiresAt: number } & ({ readonly value: unknown } | { readonly error: Error });

/**
 * Answers by (type, name), shared by all messages of the process. Concurrent lookups of one name
 * share a single query. Timeouts and server failures are not kept: the next message asks again.
 */
export class DnsAnswerCache {
  private readonly answers = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly resolve: DnsResolve,
    private readonly options: DnsCacheOptions = DEFAULT_DNS_CACHE,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.answers.size;
  }

  lookup(name: string, rrtype: string): Promise<unknown> {
    const key = `${rrtype.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;
    const cached = this.answers.get(key);
    if (cached && cached.expiresAt > this.now()) return 'error' in cached ? Promise.reject(cached.error) : Promise.resolve(cached.value);
    if (cached) this.answers.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const query = this.resolve(name, rrtype).then(
      (value) => {
        this.pending.delete(key);
        this.keep(key, { value, expiresAt: this.now() + this.options.positiveTtlMs });
        return value;
      },
      (err: unknown) => {
        this.pending.delete(key);
        const error = err instanceof Error ? err : new Error(String(err));
        if (NEGATIVE.has((error as { code?: string }).code ?? '')) this.keep(key, { error, expiresAt: this.now() + this.options.negativeTtlMs });
        throw error;
      },
    );
    this.pending.set(key, query);
    return query;
  }

  private keep(key: string, entry: Entry): void {
    // Map keeps insertion order: the first key is the oldest
    while (this.answers.size >= this.options.maxEntries) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(key, entry);
  }
}

/** What one message's lookups cost: for the logs and the benchmark. */
export interface DnsSpend {
  readonly lookups: number;
  /** Lookups answered with a timeout because the budget was spent. */
  readonly cutOff: number;
}

/** The resolver handed to mailauth for one message: `(name, rrtype) => Promise<answer>`. */
export interface BudgetedResolver {
  readonly resolve: (name: string, rrtype: string) => Promise<any>;
  /** Starts the budget's clock (at the end of data); lookups still running then share what is left. */
  startClock(): void;
  spend(): DnsSpend;
}

const timeoutError = (name: string) => Object.assign(new Error(`DNS budget spent before ${name} was answered`), { code: 'ETIMEOUT' });

/**
 * A view of `cache` for one message. Before `startClock()` (while the data still streams) a
 * lookup may take up to `budgetMs` on its own; from `startClock()` all lookups of the message
 * together finish within `budgetMs` or fail with ETIMEOUT, however many the records ask for. A
 * lookup cut off keeps running in the cache and serves the next message that asks.
 */
export function budgetedResolver(cache: DnsAnswerCache, budgetMs: number): BudgetedResolver {
  let expired = false;
  let clock: NodeJS.Timeout | null = null;
  let lookups = 0;
  let cutOff = 0;
  const waiting = new Set<() => void>();
  const expire = () => {
    expired = true;
    for (const cut of [...waiting]) cut();
  };
  return {
    resolve(name, rrtype) {
      lookups++;
      if (expired) {
        cutOff++;
        return Promise.reject(timeoutError(name));
      }
      return new Promise((resolve, reject) => {
        const settle = () => {
          waiting.delete(cut);
          clearTimeout(timer);
        };
        const cut = () => {
          settle();
          cutOff++;
          reject(timeoutError(name));
        };
        // before the clock runs a lookup has the budget to itself; after, the clock cuts it off
        const timer = clock ? undefined : setTimeout(cut, budgetMs);
        timer?.unref();
        waiting.add(cut);
        cache.lookup(name, rrtype).then(
          (value) => {
            if (!waiting.has(cut)) return;
            settle();
            resolve(value);
          },
          (err: unknown) => {
            if (!waiting.has(cut)) return;
            settle();
            reject(err as Error);
          },
        );
      });
    },
    startClock() {
      if (clock || expired) return;
      clock = setTimeout(expire, budgetMs);
      clock.unref();
    },
    spend: () => ({ lookups, cutOff }),
  };
}
