// A DNS for tests of message authentication: zones written in the test, answered as
// `dns.promises.Resolver#resolve` answers (TXT as string[][], ENOTFOUND for a name that does not
// exist, ENODATA for a name without that type), and names that misbehave on purpose: one never
// answers (a timeout), one fails as a broken server does (SERVFAIL). Never reaches the internet.
import { generateKeyPairSync } from 'node:crypto';

export type ZoneAnswer = string | string[] | 'timeout' | 'servfail';
/** Name → type → answer. TXT strings longer than 255 bytes are split as a DNS server would. */
export type Zones = Record<string, Partial<Record<'TXT' | 'A' | 'AAAA' | 'MX' | 'PTR', ZoneAnswer>>>;

const dnsError = (code: string, name: string) => Object.assign(new Error(`${code} ${name}`), { code, hostname: name });

export interface ZoneResolver {
  readonly resolve: (name: string, rrtype: string) => Promise<unknown>;
  /** Every query asked, as `TYPE name`. */
  readonly asked: string[];
}

export function zoneResolver(zones: Zones): ZoneResolver {
  const asked: string[] = [];
  const byName = new Map(Object.entries(zones).map(([name, records]) => [name.toLowerCase().replace(/\.$/, ''), records]));
  return {
    asked,
    resolve: async (name, rrtype) => {
      const type = rrtype.toUpperCase() as keyof Zones[string];
      asked.push(`${type} ${name}`);
      const records = byName.get(name.toLowerCase().replace(/\.$/, ''));
      if (!records) throw dnsError('ENOTFOUND', name);
      const answer = records[type];
      if (answer === undefined) throw dnsError('ENODATA', name);
      if (answer === 'timeout') return new Promise(() => {});
      if (answer === 'servfail') throw dnsError('ESERVFAIL', name);
      const list = Array.isArray(answer) ? answer : [answer];
      if (type === 'TXT') return list.map((txt) => txt.match(/.{1,255}/gs) ?? ['']);
      if (type === 'MX') return list.map((mx, i) => ({ exchange: mx, priority: 10 * (i + 1) }));
      return list;
    },
  };
}

/** An RSA key pair and the DKIM key record (RFC 6376 §3.6.1) that publishes it. */
export function dkimKey(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${spki}` };
}
