// Password hashing for accounts: scrypt (RFC 7914) from node:crypto, with the parameters
// stored in the hash string so they can be raised later without breaking old hashes.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Cost parameters: N=2^15, r=8, p=1 (~32 MiB, tens of ms), within OWASP's scrypt guidance. */
const DEFAULT_PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds accepted when reading a stored hash, so a corrupt item cannot exhaust memory. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

/**
 * Verified against when the account does not exist, so an unknown address costs the same
 * scrypt work as a known one (no account enumeration by timing). Its key matches nothing.
 */
const UNKNOWN_ACCOUNT_HASH = `scrypt$${DEFAULT_PARAMS.N}$${DEFAULT_PARAMS.r}$${DEFAULT_PARAMS.p}$${Buffer.alloc(SALT_BYTES, 0x5a).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

function scrypt(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt base64>$<key base64>` with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, DEFAULT_PARAMS);
  const { N, r, p } = DEFAULT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) return null;
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || key.length !== KEY_BYTES) return null;
  return { N, r, p, salt, key };
}

/**
 * True when `password` matches `stored`. With `stored` null (no such account) the same work is
 * done against a dummy hash and the answer is false, so timing does not reveal which accounts exist.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = parseHash(stored ?? UNKNOWN_ACCOUNT_HASH) ?? parseHash(UNKNOWN_ACCOUNT_HASH)!;
  const key = await scrypt(password, parsed.salt, parsed);
  const equal = timingSafeEqual(key, parsed.key);
  return equal && stored !== null;
}

/** True when a stored hash uses weaker parameters than today's and should be replaced at the next login. */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N < DEFAULT_PARAMS.N || parsed.r < DEFAULT_PARAMS.r || parsed.p < DEFAULT_PARAMS.p;
}
