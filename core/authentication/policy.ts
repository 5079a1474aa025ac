// What the MX does with a message once its authentication results are known: accept it, accept
// it into Junk (quarantine), refuse it at the end of DATA (550 5.7.1), or ask the sender to try
// again (451 4.7.5). Settings are per local (recipient) domain; docs/decisions/0014-inbound-authentication.md.
import { SmtpError } from '../smtp-reply.ts';
import type { AuthenticationResults } from './verify.ts';

export type InboundAction = 'reject' | 'quarantine' | 'accept';
export const INBOUND_ACTIONS: readonly InboundAction[] = ['reject', 'quarantine', 'accept'];

/** One local domain's settings (`mailctl domain inbound-policy`). */
export interface InboundPolicy {
  /** The From: domain publishes p=reject and the message fails DMARC. */
  readonly dmarcReject: InboundAction;
  /** The From: domain publishes p=quarantine and the message fails DMARC. */
  readonly dmarcQuarantine: InboundAction;
  /** From: names one of our own domains and the message does not align with it (whatever it publishes). */
  readonly ownDomainForgery: InboundAction;
}

export const DEFAULT_INBOUND_POLICY: InboundPolicy = { dmarcReject: 'reject', dmarcQuarantine: 'quarantine', ownDomainForgery: 'reject' };

export const INBOUND_POLICY_KEYS: readonly (keyof InboundPolicy)[] = ['dmarcReject', 'dmarcQuarantine', 'ownDomainForgery'];

/** A stored (partial) setting over the defaults; unknown values are ignored. */
export function effectiveInboundPolicy(stored: Partial<Record<keyof InboundPolicy, unknown>> | null | undefined): InboundPolicy {
  const out: Record<string, InboundAction> = { ...DEFAULT_INBOUND_POLICY };
  for (const key of INBOUND_POLICY_KEYS) {
    const value = stored?.[key];
    if (typeof value === 'string' && (INBOUND_ACTIONS as readonly string[]).includes(value)) out[key] = value as InboundAction;
  }
  return out as unknown as InboundPolicy;
}

export const AUTHENTICATION_REPLIES = {
  // RFC 7489 §10.3 / RFC 7372 §3.2: 5.7.1 is the code for a DMARC policy rejection
  dmarcReject: (domain: string) => new SmtpError(550, '5.7.1', `Message rejected: it fails the DMARC policy of ${domain}`),
  forgedOwnDomain: (domain: string) => new SmtpError(550, '5.7.1', `Message rejected: From: ${domain} is our domain and this message is not authenticated by it`),
  // RFC 3463: X.7.5 cryptographic failure / temporary; the sender retries, nothing is lost
  ownDomainUnverifiable: (domain: string) => new SmtpError(451, '4.7.5', `Cannot verify that this message comes from ${domain} now, try again later`),
};

/** Why a verdict is what it is, for the logs, the metrics and the inbound event. */
export type VerdictReason = 'dmarc-reject' | 'dmarc-quarantine' | 'own-domain-forgery' | 'own-domain-temperror' | 'settings-unavailable';

export type InboundVerdict =
  | { readonly kind: 'accept'; readonly reason: null }
  | { readonly kind: 'quarantine'; readonly reason: VerdictReason }
  | { readonly kind: 'refuse'; readonly reason: VerdictReason; readonly reply: SmtpError };

/** Relaxed alignment (RFC 7489 §3.1) judged without the Public Suffix List: one is the other or a parent of it. */
function alignsWith(domain: string | null, fromDomain: string): boolean {
  if (!domain) return false;
  const d = domain.toLowerCase().replace(/\.$/, '');
  return d === fromDomain || d.endsWith(`.${fromDomain}`) || fromDomain.endsWith(`.${d}`);
}

/**
 * Does the message authenticate as our own domain? DMARC's answer when the domain publishes a
 * record; without one (not yet published, or no outside DNS) the same rule judged here: an SPF or
 * DKIM pass for an aligned domain. 'unknown' when no pass and a check could not be made.
 */
export function ownDomainAlignment(results: AuthenticationResults, fromDomain: string): 'pass' | 'fail' | 'unknown' {
  if (results.dmarc?.result === 'pass') return 'pass';
  const spfAligned = results.spf.result === 'pass' && alignsWith(results.spf.domain, fromDomain);
  const dkimAligned = results.dkim.some((d) => d.result === 'pass' && alignsWith(d.domain, fromDomain));
  if (spfAligned || dkimAligned) return 'pass';
  if (results.dmarc?.result === 'fail') return 'fail';
  const couldNotCheck = results.spf.result === 'temperror' || results.dkim.some((d) => d.result === 'temperror') || results.dmarc?.result === 'temperror';
  return couldNotCheck ? 'unknown' : 'fail';
}

/** What one recipient domain's policy makes of the results. */
function decideFor(policy: InboundPolicy, results: AuthenticationResults, ownDomain: string | null): { action: InboundAction | 'defer'; reason: VerdictReason | null } {
  if (ownDomain) {
    // From: naming one of ours beside other domains cannot authenticate as all of them (RFC 7489 §6.6.1)
    const alignment = results.fromDomain === ownDomain ? ownDomainAlignment(results, ownDomain) : 'fail';
    if (alignment === 'fail') return { action: policy.ownDomainForgery, reason: policy.ownDomainForgery === 'accept' ? null : 'own-domain-forgery' };
    if (alignment === 'unknown') {
      // a temporary failure: defer only where a forgery would be refused, else judge as forgery's setting says
      if (policy.ownDomainForgery === 'reject') return { action: 'defer', reason: 'own-domain-temperror' };
      return { action: policy.ownDomainForgery, reason: policy.ownDomainForgery === 'accept' ? null : 'own-domain-temperror' };
    }
    return { action: 'accept', reason: null };
  }
  if (results.dmarc?.result !== 'fail') return { action: 'accept', reason: null };
  if (results.dmarc.policy === 'reject') return { action: policy.dmarcReject, reason: policy.dmarcReject === 'accept' ? null : 'dmarc-reject' };
  if (results.dmarc.policy === 'quarantine') return { action: policy.dmarcQuarantine, reason: policy.dmarcQuarantine === 'accept' ? null : 'dmarc-quarantine' };
  return { action: 'accept', reason: null };
}

/**
 * `ownDomain`: the one of our domains the From: field names, if any (the caller knows which are
 * ours). One answer for the whole transaction (SMTP has one reply to DATA): refused only when every
 * recipient domain refuses; when some refuse and others do not, the message is quarantined for
 * all, so no domain that asked for a refusal gets it in an INBOX and no mail is lost. Any domain
 * deferring defers the message (451): a temporary answer costs a retry, never mail.
 */
export function decideInbound(results: AuthenticationResults, policies: readonly InboundPolicy[], ownDomain: string | null): InboundVerdict {
  const decisions = (policies.length > 0 ? policies : [DEFAULT_INBOUND_POLICY]).map((p) => decideFor(p, results, ownDomain));
  const from = ownDomain ?? results.fromDomain ?? '';
  const deferred = decisions.find((d) => d.action === 'defer');
  if (deferred) return { kind: 'refuse', reason: 'own-domain-temperror', reply: AUTHENTICATION_REPLIES.ownDomainUnverifiable(from) };
  const rejected = decisions.filter((d) => d.action === 'reject');
  if (rejected.length === decisions.length) {
    const reason = rejected[0]!.reason!;
    const reply = reason === 'own-domain-forgery' ? AUTHENTICATION_REPLIES.forgedOwnDomain(from) : AUTHENTICATION_REPLIES.dmarcReject(from);
    return { kind: 'refuse', reason, reply };
  }
  const flagged = decisions.find((d) => d.action !== 'accept');
  if (flagged) return { kind: 'quarantine', reason: flagged.reason! };
  return { kind: 'accept', reason: null };
}
