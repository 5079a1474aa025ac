// TLS credentials for the listeners (SMTP STARTTLS now, IMAPS/POP3S later): read from files,
// or a self-signed certificate generated once and cached on disk so restarts present the same one.
// The certificate is built with node:crypto and a small DER writer: the `selfsigned` package in
// this install fails at run time (two copies of @peculiar/asn1-schema), and X.509 is small enough.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { X509Certificate, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';

export interface TlsCredentials {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate (chain). */
  readonly cert: string;
}

/** The cache file; key and certificate share one file so a single rename publishes a matching pair. */
export const SELF_SIGNED_FILE = 'self-signed.pem';

/** Regenerate a cached certificate this long before it expires. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
const VALIDITY_DAYS = 365;

export function readTlsCredentials(keyFile: string, certFile: string): TlsCredentials {
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

function splitPemBundle(pem: string): TlsCredentials | null {
  const key = pem.match(/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----\r?\n?/)?.[0];
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\r?\n?/g);
  return key && certs ? { key, cert: certs.join('') } : null;
}

function usable(credentials: TlsCredentials, hostname: string, now: Date): boolean {
  try {
    const x509 = new X509Certificate(credentials.cert);
    return new Date(x509.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS && x509.checkHost(hostname) !== undefined;
  } catch {
    return false;
  }
}

// A minimal DER writer (ITU-T X.690), enough for one X.509 v3 certificate (RFC 5280 §4.1).
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const integer = (value: Buffer) => der(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
const octetString = (value: Buffer) => der(0x04, value);
const bitString = (value: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), value]));
const utf8 = (value: string) => der(0x0c, Buffer.from(value, 'utf8'));
const explicit = (n: number, inner: Buffer) => der(0xa0 + n, inner);
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}
/** UTCTime for 1950-2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(iso.slice(2), 'ascii')) : der(0x18, Buffer.from(iso, 'ascii'));
}
function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.concat(groups.map((g) => { const b = Buffer.alloc(2); b.writeUInt16BE(parseInt(g, 16)); return b; }));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};
const extension = (id: string, critical: boolean, value: Buffer) =>
  sequence(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), octetString(value));

/** A self-signed EC P-256 server certificate for the given DNS names and IP addresses. */
export function createSelfSignedCertificate(commonName: string, altNames: string[], notBefore: Date, notAfter: Date): TlsCredentials {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const name = sequence(set(sequence(oid(OID.commonName), utf8(commonName))));
  const serial = randomBytes(16);
  // A positive DER INTEGER in minimal form (X.690 §8.3.2): top bit clear, and the first byte
  // never 0x00 (with 0x00 followed by a byte below 0x80 OpenSSL rejects it as illegal padding,
  // which made about one certificate in 256 unusable).
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const san = sequence(
    ...altNames.map((n) => (isIPv4(n) || isIPv6(n) ? der(0x87, ipBytes(n)) : der(0x82, Buffer.from(n, 'ascii')))),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(
      extension(OID.basicConstraints, true, sequence()),
      // digitalSignature only: ECDHE key agreement signs with the key (RFC 5280 §4.2.1.3)
      extension(OID.keyUsage, true, der(0x03, Buffer.from([0x07, 0x80]))),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, san),
    )),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, algorithm, bitString(signature));
  const pem = (label: string, body: Buffer) =>
    `-----BEGIN ${label}-----\n${body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: pem('CERTIFICATE', certificate),
  };
}

/**
 * A self-signed certificate for `hostname` (plus localhost and the loopback addresses),
 * cached as `<folder>/self-signed.pem`. Several processes may race on first run; each
 * writes a temp file and renames it, so the file always holds a key and its own certificate.
 */
export async function loadOrCreateSelfSignedCertificate(folder: string, hostname: string, now = new Date()): Promise<TlsCredentials> {
  const file = join(folder, SELF_SIGNED_FILE);
  try {
    const cached = splitPemBundle(readFileSync(file, 'utf8'));
    if (cached && usable(cached, hostname, now)) return cached;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const names = [...new Set([hostname, 'localhost', '127.0.0.1', '::1'])];
  const credentials = createSelfSignedCertificate(
    hostname,
    names,
    new Date(now.getTime() - 60_000),
    new Date(now.getTime() + VALIDITY_DAYS * 24 * 3600 * 1000),
  );
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${credentials.key.trimEnd()}\n${credentials.cert.trimEnd()}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return credentials;
}
