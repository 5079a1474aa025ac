// Inbound trust at the MX: each message from outside is verified while it streams in (SPF, DKIM,
// DMARC, ARC: core/authentication/), judged by the recipient domains' settings, logged once with
// every verdict (the metric filters of infra/constructs/monitoring.ts count them), and its
// results go on top of the stored message. docs/decisions/0014-inbound-authentication.md.
import { addressKey } from '../core/addresses.ts';
import type { InboundEvent } from '../core/contracts.ts';
import { temporaryFailure } from '../core/smtp-reply.ts';
import type { ServiceLog } from '../core/log.ts';
import { budgetedResolver, DEFAULT_DNS_CACHE, DnsAnswerCache, type DnsCacheOptions, type DnsResolve } from '../core/authentication/dns.ts';
import { decideInbound, effectiveInboundPolicy, type InboundPolicy, type InboundVerdict } from '../core/authentication/policy.ts';
import { startVerification, temporaryResults, type AuthenticationResults, type SessionFacts } from '../core/authentication/verify.ts';
import type { Directory, Domain } from '../core/store/types.ts';
import { TtlLookupCache } from './recipients.ts';
import { AUTHENTICATION_METRICS } from '../core/authentication/metrics.ts';

/** The composition root's choices (smtp-edge/main.ts: the system resolver; tests: their zones). */
export interface InboundAuthenticationOptions {
  /** `dns.promises.Resolver#resolve`-shaped; every lookup of every message goes through the cache. */
  readonly resolve: DnsResolve;
  /** Total DNS time of one message after its final dot (RFC 5321 §4.5.3.2.6 gives the client 10 minutes). */
  readonly budgetMs?: number;
  readonly cache?: Partial<DnsCacheOptions>;
}

export const DEFAULT_DNS_BUDGET_MS = 5_000;
/** Verification that has not settled this long after its DNS budget is given up (all temperror). */
const SETTLE_GRACE_MS = 2_000;


/** What the authentication of one message looks like to receiveMessage (smtp-edge/data.ts). */
export interface MessageAuthentication {
  /** Gets the message bytes as stored (lines in CRLF), from the first header line on. */
  write(bytes: Buffer): boolean;
  /** Resolves when `write` may be called again. */
  drained(): Promise<void>;
  /** The data ended: DNS budget starts; resolves to the results (never rejects) and the verdict. */
  finish(recipients: readonly string[]): Promise<{ results: AuthenticationResults; verdict: InboundVerdict }>;
  /** The message is refused for another reason: stop. */
  abandon(): void;
}

/** One word for all DKIM signatures: pass if any passed, else the first one's result, none without any. */
function dkimSummary(results: AuthenticationResults): string {
  return results.dkim.length === 0 ? 'none' : results.dkim.some((d) => d.result === 'pass') ? 'pass' : results.dkim[0]!.result;
}

/** What the inbound event says of the verification (core/contracts.ts). */
export function eventAuthentication(results: AuthenticationResults, verdict: InboundVerdict): NonNullable<InboundEvent['authentication']> {
  return {
    quarantine: verdict.kind === 'quarantine',
    reason: verdict.reason,
    spf: results.spf.result,
    dkim: dkimSummary(results),
    dmarc: results.dmarc?.result ?? 'none',
    arc: results.arc.result,
  };
}

export class InboundAuthenticator {
  private readonly dns: DnsAnswerCache;
  private readonly domains: TtlLookupCache<Domain | null>;
  private readonly budgetMs: number;

  constructor(
    options: InboundAuthenticationOptions,
    private readonly directory: Pick<Directory, 'isLocalDomain'> & Partial<Pick<Directory, 'getDomain'>>,
    private readonly hostname: string,
    private readonly log: ServiceLog,
    domainTtlMs: number,
  ) {
    this.dns = new DnsAnswerCache(options.resolve, { ...DEFAULT_DNS_CACHE, ...options.cache });
    this.budgetMs = options.budgetMs ?? DEFAULT_DNS_BUDGET_MS;
    this.domains = new TtlLookupCache(
      async (name) => directory.getDomain ? directory.getDomain(name) : ((await directory.isLocalDomain(name)) ? { name, createdAt: '', postmaster: null } : null),
      domainTtlMs,
      10_000,
      Date.now,
    );
  }

  /** Starts verifying one message of a session (SPF's DNS begins at once). */
  begin(facts: Omit<SessionFacts, 'authservId'>, context: { readonly id: string; readonly session: string }): MessageAuthentication {
    const sessionFacts = { ...facts, authservId: this.hostname };
    const resolver = budgetedResolver(this.dns, this.budgetMs);
    const verification = startVerification(sessionFacts, resolver);
    const startedAt = Date.now();
    const drainWaiters: (() => void)[] = [];
    const sink = verification.sink;
    const wake = () => {
      for (const w of drainWaiters.splice(0)) w();
    };
    sink.on('drain', wake).on('close', wake).on('error', () => wake());
    let abandoned = false;
    const settled = verification.results.catch((err: unknown) => {
      // an abandoned message's verification fails by design: nothing to report
      if (!abandoned) this.log.warn('smtp.authentication-failed', { id: context.id, session: context.session, err });
      return temporaryResults(sessionFacts, resolver.spend());
    });
    return {
      write: (bytes) => sink.destroyed || sink.write(bytes),
      drained: () => (sink.destroyed || !sink.writableNeedDrain ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push(resolve))),
      abandon: () => {
        abandoned = true;
        verification.abandon();
        wake();
      },
      finish: async (recipients) => {
        sink.end();
        resolver.startClock();
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<AuthenticationResults>((resolve) => {
          timer = setTimeout(() => resolve(temporaryResults(sessionFacts, resolver.spend())), this.budgetMs + SETTLE_GRACE_MS);
        });
        const results = await Promise.race([settled, giveUp]).finally(() => clearTimeout(timer));
        const verdict = await this.judge(results, recipients);
        this.record(results, verdict, { ...context, ms: Date.now() - startedAt, ip: facts.ip });
        return { results, verdict };
      },
    };
  }

  /** The recipient domains' settings and whether From: is ours; a store failure is a 451. */
  private async judge(results: AuthenticationResults, recipients: readonly string[]): Promise<InboundVerdict> {
    const domains = [...new Set(recipients.map((r) => addressKey(r)).filter((k): k is string => k !== null).map((k) => k.slice(k.lastIndexOf('@') + 1)))];
    try {
      const [policies, ours] = await Promise.all([
        Promise.all(domains.map(async (d): Promise<InboundPolicy> => effectiveInboundPolicy((await this.domains.get(d))?.inboundPolicy))),
        // a From: of several mailboxes: each domain is one cached lookup; more than ten is not mail
        Promise.all(results.authorDomains.slice(0, 10).map(async (d) => ((await this.domains.get(d)) ? d : null))),
      ]);
      return decideInbound(results, policies, ours.find((d) => d !== null) ?? null);
    } catch (err) {
      this.log.error('smtp.inbound-policy-lookup-failed', { err });
      return { kind: 'refuse', reason: 'settings-unavailable', reply: temporaryFailure() };
    }
  }

  /** One line per message with each mechanism's verdict and what was done. */
  private record(results: AuthenticationResults, verdict: InboundVerdict, context: { id: string; session: string; ms: number; ip: string }): void {
    const dkim = dkimSummary(results);
    const fields = {
      id: context.id,
      session: context.session,
      ip: context.ip,
      spf: results.spf.result,
      spfHelo: results.spfHelo?.result ?? 'none',
      dkim,
      dmarc: results.dmarc?.result ?? 'none',
      dmarcPolicy: results.dmarc?.policy ?? null,
      arc: results.arc.result,
      fromDomain: results.fromDomain,
      action: verdict.kind === 'refuse' ? (verdict.reply.code >= 500 ? 'reject' : 'defer') : verdict.kind,
      reason: verdict.reason,
      dnsLookups: results.dns.lookups,
      dnsCutOff: results.dns.cutOff,
      ms: context.ms,
    };
    if (verdict.kind === 'accept') this.log.info(AUTHENTICATION_METRICS.event, fields);
    else this.log.warn(AUTHENTICATION_METRICS.event, fields);
  }
}
