// Verifies a message from outside while it streams in: SPF for the MAIL FROM and HELO identities
// (RFC 7208 §2.3, §2.4), DKIM signatures (RFC 6376), DMARC alignment and policy (RFC 7489 /
// DMARCbis) and the ARC chain (RFC 8617), all through mailauth, with the DNS of one message
// bounded in time (dns.ts). What it finds is one Authentication-Results field (RFC 8601).
import { PassThrough, type Writable } from 'node:stream';
import { authenticate, spf as checkSpf } from 'mailauth';
import type { BudgetedResolver } from './dns.ts';

/** RFC 8601 §2.7 result keywords mailauth reports. */
export type MechanismResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** What the edge knows of the SMTP session. */
export interface SessionFacts {
  /** The client's address. */
  readonly ip: string;
  /** HELO/EHLO argument as given. */
  readonly helo: string;
  /** Envelope sender; '' for the null reverse-path. */
  readonly mailFrom: string;
  /** Our host name: the authserv-id of the results (RFC 8601 §2.5). */
  readonly authservId: string;
}

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface AuthenticationResults {
  /** The MAIL FROM identity (for `<>`, postmaster@HELO, RFC 7208 §2.4). */
  readonly spf: { readonly result: MechanismResult; readonly identity: string; readonly domain: string | null };
  /** The HELO identity (RFC 7208 §2.3); null when HELO is an address literal or no domain. */
  readonly spfHelo: { readonly result: MechanismResult; readonly helo: string } | null;
  /** One per DKIM-Signature mailauth evaluated. */
  readonly dkim: readonly { readonly result: MechanismResult; readonly domain: string; readonly selector: string }[];
  /** Null when the message has no single author domain in From: (RFC 7489 §6.6.1). */
  readonly dmarc: {
    readonly result: MechanismResult;
    /** The policy the record asks for (after sp=/np=), null without a record. */
    readonly policy: DmarcPolicy | null;
    readonly fromDomain: string;
  } | null;
  /** The From: domain, when there is exactly one. */
  readonly fromDomain: string | null;
  /** Every domain the From: field names (RFC 6854 groups included), lowercased, each once. */
  readonly authorDomains: readonly string[];
  readonly arc: { readonly result: MechanismResult };
  readonly dns: { readonly lookups: number; readonly cutOff: number };
  /** The field to put on top of the stored message, CRLF-terminated. */
  readonly header: string;
}

export interface Verification {
  /** Write the message here (lines ending in CRLF), then end it; back-pressure as any Writable. */
  readonly sink: Writable;
  /** Settles once the sink ended and every check answered (or the DNS budget ran out). */
  readonly results: Promise<AuthenticationResults>;
  /** The message is not wanted after all: stop reading and settle. */
  abandon(): void;
}

const KNOWN: ReadonlySet<string> = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
const keyword = (value: unknown): MechanismResult => {
  const text = String(value ?? '').toLowerCase();
  if (text === 'temperr') return 'temperror';
  return (KNOWN.has(text) ? text : 'permerror') as MechanismResult;
};

/** A domain name HELO can be checked for: not an address literal, at least two labels. */
function heloDomain(helo: string): string | null {
  const name = helo.trim().replace(/\.$/, '');
  if (!name || name.startsWith('[') || !name.includes('.') || !/^[A-Za-z0-9._-]+$/.test(name)) return null;
  return name;
}

/** RFC 8601 §2.2 pvalue: a token as is, anything else quoted (or the whole entry left out when it cannot be). */
function pvalue(value: string): string | null {
  if (/[\x00-\x1f\x7f]/.test(value)) return null;
  if (/^[A-Za-z0-9!#$%&'*+\-./=?^_`{|}~@]+$/.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

const property = (name: string, value: string | null | undefined) => {
  const v = value ? pvalue(value) : null;
  return v ? ` ${name}=${v}` : '';
};

/** RFC 8601 §2.2: `Authentication-Results: authserv-id; resinfo; resinfo`, one resinfo a line. */
export function formatAuthenticationResults(authservId: string, results: Omit<AuthenticationResults, 'header' | 'dns'>): string {
  const entries = [
    `spf=${results.spf.result}${property('smtp.mailfrom', results.spf.identity)}`,
    ...(results.spfHelo ? [`spf=${results.spfHelo.result}${property('smtp.helo', results.spfHelo.helo)}`] : []),
    ...(results.dkim.length === 0 ? ['dkim=none'] : results.dkim.map((d) => `dkim=${d.result}${property('header.d', d.domain)}${property('header.s', d.selector)}`)),
    results.dmarc
      ? `dmarc=${results.dmarc.result}${results.dmarc.policy ? ` policy.dmarc=${results.dmarc.policy}` : ''}${property('header.from', results.dmarc.fromDomain)}`
      : 'dmarc=none (no single author domain in From)',
    `arc=${results.arc.result}`,
  ];
  return `Authentication-Results: ${authservId};\r\n\t${entries.join(';\r\n\t')}\r\n`;
}

/** Every check answered temperror: what the edge records when verification itself could not finish. */
export function temporaryResults(facts: SessionFacts, dns: AuthenticationResults['dns']): AuthenticationResults {
  const helo = heloDomain(facts.helo);
  const base = {
    spf: { result: 'temperror' as const, identity: facts.mailFrom || (helo ? `postmaster@${helo}` : ''), domain: null },
    spfHelo: helo ? { result: 'temperror' as const, helo } : null,
    dkim: [],
    dmarc: null,
    fromDomain: null,
    authorDomains: [],
    arc: { result: 'temperror' as const },
  };
  return { ...base, dns, header: formatAuthenticationResults(facts.authservId, base) };
}

interface MailauthDkimRow { signingDomain?: string; selector?: string; status?: { result?: string } }
interface MailauthDmarc { status?: { result?: string; header?: { from?: string } }; policy?: string; p?: string }

/**
 * Starts verifying: the HELO and MAIL FROM SPF checks begin now (their DNS overlaps the data),
 * DKIM hashes the body as it is written to `sink`, and the key, DMARC and ARC lookups follow
 * its end. `resolver.startClock()` is the caller's: the budget counts from the end of data.
 */
export function startVerification(facts: SessionFacts, resolver: BudgetedResolver): Verification {
  const input = new PassThrough();
  const helo = heloDomain(facts.helo);
  const common = { ip: facts.ip, mta: facts.authservId, resolver: resolver.resolve };
  // RFC 7208 §2.3: the HELO identity is checked as postmaster@<helo>
  const heloCheck = helo
    ? checkSpf({ ...common, sender: `postmaster@${helo}`, helo }).then((r) => keyword(r?.status?.result), () => 'temperror' as const)
    : Promise.resolve(null);
  // Asked now for its DNS answers to be cached by the time authenticate() asks again.
  if (facts.mailFrom) void checkSpf({ ...common, sender: facts.mailFrom, helo: helo ?? facts.helo }).catch(() => undefined);

  const results = (async (): Promise<AuthenticationResults> => {
    const report = await authenticate(input, {
      ...common,
      sender: facts.mailFrom,
      helo: helo ?? facts.helo,
      disableBimi: true,
    });
    const heloResult = await heloCheck;
    const spfStatus = report.spf ? keyword(report.spf.status?.result) : 'none';
    const identity = facts.mailFrom || (helo ? `postmaster@${helo}` : '');
    const dmarc = report.dmarc as MailauthDmarc | false;
    const fromDomain = dmarc ? (dmarc.status?.header?.from ?? null) : null;
    const policyText = dmarc ? String(dmarc.policy ?? '') : '';
    const base = {
      spf: { result: spfStatus, identity, domain: identity.includes('@') ? identity.slice(identity.lastIndexOf('@') + 1).toLowerCase() : null },
      spfHelo: helo && heloResult ? { result: heloResult, helo } : null,
      dkim: ((report.dkim?.results ?? []) as MailauthDkimRow[]).map((row) => ({
        result: keyword(row.status?.result),
        domain: String(row.signingDomain ?? ''),
        selector: String(row.selector ?? ''),
      })),
      dmarc: dmarc && fromDomain
        ? { result: keyword(dmarc.status?.result), policy: (['none', 'quarantine', 'reject'].includes(policyText) ? policyText : null) as DmarcPolicy | null, fromDomain: fromDomain.toLowerCase() }
        : null,
      fromDomain: fromDomain?.toLowerCase() ?? null,
      authorDomains: [...new Set(((report.dkim?.headerFrom ?? []) as string[]).map((a) => a.slice(a.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '')).filter(Boolean))],
      arc: { result: report.arc ? keyword(report.arc.status?.result) : 'none' },
    };
    return { ...base, dns: resolver.spend(), header: formatAuthenticationResults(facts.authservId, base) };
  })();
  return {
    sink: input,
    results,
    abandon: () => input.destroy(new Error('verification abandoned')),
  };
}
