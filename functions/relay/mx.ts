// Where mail for a domain goes (RFC 5321 §5.1): MX hosts by preference, equal preferences in
// random order, the domain's own address records when it has no MX, and RFC 7505 null MX.
import { SmtpError } from '../../core/smtp-reply.ts';

/** The slice of node:dns/promises used here; tests map their domains onto loopback. */
export interface DnsResolver {
  resolveMx(domain: string): Promise<Array<{ exchange: string; priority: number }>>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** One host to try: its name (EHLO peer, TLS server name, Remote-MTA) and addresses. */
export interface MxHost {
  readonly name: string;
  readonly addresses: string[];
  readonly port: number;
}

export type Destination =
  | { readonly kind: 'hosts'; readonly hosts: MxHost[] }
  /** RFC 7505 §3: the domain accepts no mail; bounce at once with 556 5.1.10. */
  | { readonly kind: 'null-mx' };

const dnsCode = (err: unknown) => (err as { code?: string }).code;
/** The name does not exist (NXDOMAIN): permanent. ENODATA (name exists, no such record) is handled by callers. */
const isNxDomain = (err: unknown) => dnsCode(err) === 'ENOTFOUND';
const isNoData = (err: unknown) => dnsCode(err) === 'ENODATA';

/** Fisher–Yates, with an injectable random source so tests can pin the order. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** MX records in the order to try: ascending preference, random among equals (RFC 5321 §5.1). */
export function orderMx(records: Array<{ exchange: string; priority: number }>, random: () => number = Math.random): string[] {
  const byPriority = new Map<number, string[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r.exchange]);
  return [...byPriority.keys()].sort((a, b) => a - b).flatMap((p) => shuffle(byPriority.get(p)!, random));
}

async function addressesOf(resolver: DnsResolver, host: string): Promise<string[]> {
  // IPv4 first: Lambda and most Fargate tasks have no IPv6 egress by default.
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (addresses.length > 0) return addresses;
  const failures = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  if (failures.length === 2 && failures.every((e) => isNxDomain(e) || isNoData(e))) return [];
  throw failures[0] ?? new Error(`no address for ${host}`);
}

/**
 * The hosts for `domain`. Throws SmtpError: 5.1.2 when the domain has no MX and no address
 * (RFC 5321 §5.1: then it is not a mail domain), 4.4.3 when DNS itself failed (retry).
 */
export async function resolveDestination(domain: string, resolver: DnsResolver, port: number, random: () => number = Math.random): Promise<Destination> {
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    if (isNxDomain(err)) throw new SmtpError(550, '5.1.2', `Domain ${domain} does not exist`);
    if (!isNoData(err)) throw new SmtpError(451, '4.4.3', `DNS lookup of MX for ${domain} failed: ${dnsCode(err) ?? String(err)}`);
    records = [];
  }
  // RFC 7505 §3: a single MX with an empty exchange ("." in the zone) and preference 0.
  if (records.length === 1 && (records[0]!.exchange === '' || records[0]!.exchange === '.')) return { kind: 'null-mx' };
  // RFC 7505 §4.3: other records beside a null MX are a mistake; the null one is skipped.
  const names = records.length > 0 ? orderMx(records.filter((r) => r.exchange !== '' && r.exchange !== '.'), random) : [domain];
  // Independent lookups, asked at once; the answers are still used in MX order.
  const lookups = await Promise.allSettled(names.map((name) => addressesOf(resolver, name)));
  const hosts: MxHost[] = [];
  let lookupError: unknown;
  lookups.forEach((lookup, i) => {
    if (lookup.status === 'rejected') lookupError = lookup.reason;
    else if (lookup.value.length > 0) hosts.push({ name: names[i]!, addresses: lookup.value, port });
  });
  if (hosts.length > 0) return { kind: 'hosts', hosts };
  if (records.length === 0 && lookupError === undefined) {
    throw new SmtpError(550, '5.1.2', `Domain ${domain} has no MX and no address records`);
  }
  throw new SmtpError(451, '4.4.4', `No usable address for the mail hosts of ${domain}${lookupError ? `: ${dnsCode(lookupError) ?? String(lookupError)}` : ''}`);
}
