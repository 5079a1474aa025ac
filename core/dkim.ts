// DKIM (RFC 6376): signing keys per sender domain, the DNS TXT record that publishes each one,
// and signing a raw message with mailauth so the bytes after the new header stay untouched.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';

/** A domain's signing key as stored (the private key never leaves the store but to sign). */
export interface DkimKey {
  readonly domain: string;
  /** RFC 6376 §3.1 selector: the record lives at `<selector>._domainkey.<domain>`. */
  readonly selector: string;
  readonly algorithm: 'rsa-sha256';
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** The TXT record value, `v=DKIM1; k=rsa; p=...` (RFC 6376 §3.6.1). */
  readonly publicRecord: string;
  readonly createdAt: string;
}

/** The public half of a key: what `mailctl dkim` prints and infra's settings take. */
export interface DkimRecord {
  readonly domain: string;
  readonly selector: string;
  /** `<selector>._domainkey.<domain>` */
  readonly name: string;
  readonly value: string;
}

export const DEFAULT_DKIM_SELECTOR = 'mail';

/** Creates an RSA-2048 key (RFC 8301 §3.2: at least 1024, 2048 recommended) for `domain`. */
export function generateDkimKey(domain: string, selector = DEFAULT_DKIM_SELECTOR, now = new Date()): DkimKey {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(selector)) {
    throw new Error(`invalid DKIM selector '${selector}' (RFC 6376 §3.1: DNS labels)`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    domain,
    selector,
    algorithm: 'rsa-sha256',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicRecord: `v=DKIM1; k=rsa; p=${spki}`,
    createdAt: now.toISOString(),
  };
}

export function dkimRecordOf(key: Pick<DkimKey, 'domain' | 'selector' | 'publicRecord'>): DkimRecord {
  return { domain: key.domain, selector: key.selector, name: `${key.selector}._domainkey.${key.domain}`, value: key.publicRecord };
}

/** The record in zone-file form; TXT strings longer than 255 octets are split (RFC 1035 §3.3.14). */
export function zoneFileLine(record: DkimRecord): string {
  const chunks = record.value.match(/.{1,255}/g) ?? [''];
  return `${record.name}. IN TXT ${chunks.map((c) => `"${c}"`).join(' ')}`;
}

/**
 * The message with a DKIM-Signature prepended (relaxed/relaxed, mailauth's default header set).
 * Everything after the new header is the input, byte for byte.
 */
export async function signMessage(raw: Buffer, key: Pick<DkimKey, 'domain' | 'selector' | 'privateKeyPem'>): Promise<Buffer> {
  const signature = { signingDomain: key.domain, selector: key.selector, privateKey: key.privateKeyPem, canonicalization: 'relaxed/relaxed' };
  // mailauth's signer reads the keys from signatureData only (the top-level fields its typings
  // also list are ignored and sign nothing), hence both.
  const result = await dkimSign(raw, { ...signature, signatureData: [signature] });
  if (result.errors?.length || !result.signatures) {
    throw new Error(`DKIM signing for ${key.domain} failed: ${JSON.stringify(result.errors ?? 'no signature')}`);
  }
  return Buffer.concat([Buffer.from(result.signatures, 'latin1'), raw]);
}
