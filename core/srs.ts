// The Sender Rewriting Scheme (Shevek, "Sender Rewriting Scheme", 2004; the reference
// implementations Mail::SRS and libsrs2): a forward to another domain goes out with an envelope
// sender of ours, so the receiver's SPF check (RFC 7208) judges our servers, and a bounce to that
// address finds its way back to the original sender. No maintained npm package implements it.
//
//   SRS0=HHH=TT=orig-domain=orig-local@our-domain      forwarding a plain address
//   SRS1=HHH=first-host==HHH=TT=orig-domain=orig-local@our-domain   forwarding an SRS0 address of first-host
//
// HHH is the HMAC-SHA1 of the lowercased fields under our secret, base64, truncated; TT the day
// of creation in base32, modulo 1024. Hashes and timestamps are compared case-insensitively, as
// the scheme requires: MTAs may change the case of a local part.
import { createHmac, timingSafeEqual } from 'node:crypto';

const SEPARATOR = '=';
/** The scheme accepts any of `=`, `+`, `-` after the tag (Mail::SRS $SRSSEP, libsrs2 srs_set_separator). */
const SRS0_TAG = /^SRS0[-+=]/i;
const SRS1_TAG = /^SRS1[-+=]/i;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DAY_MS = 86_400_000;
/** Two base32 characters: days modulo 2^10. */
const TIMESTAMP_SLOTS = 1024;

export interface SrsOptions {
  /** Secrets, the first signs; the others are still accepted (rotation). */
  readonly secrets: readonly string[];
  /** Days an SRS0 address stays valid (libsrs2's default, 21). */
  readonly maxAgeDays?: number;
  /** Characters of the hash kept (Mail::SRS's default is 4; more resists guessing). */
  readonly hashLength?: number;
  readonly now?: () => Date;
}

/** Why a reverse-path is refused: not SRS at all, a hash that does not match, or too old. */
export type SrsReverseResult =
  | { readonly kind: 'original'; readonly address: string }
  | { readonly kind: 'not-srs' }
  | { readonly kind: 'invalid'; readonly reason: 'malformed' | 'bad-hash' | 'expired' };

export class SenderRewriting {
  private readonly secrets: readonly string[];
  private readonly maxAgeDays: number;
  private readonly hashLength: number;
  private readonly now: () => Date;

  constructor(options: SrsOptions) {
    if (options.secrets.length === 0 || options.secrets.some((s) => s.length < 16)) throw new Error('SRS needs a secret of at least 16 characters');
    this.secrets = options.secrets;
    this.maxAgeDays = options.maxAgeDays ?? 21;
    this.hashLength = options.hashLength ?? 6;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The envelope sender for forwarding a message from `sender` through `ourDomain`. A sender
   * already rewritten by another forwarder (SRS0) becomes SRS1, naming that forwarder; an SRS1
   * sender keeps its first forwarder, re-hashed under our secret (Mail::SRS::Guarded).
   */
  forward(sender: string, ourDomain: string): string {
    const at = sender.lastIndexOf('@');
    if (at <= 0) throw new Error(`not an address: ${sender}`);
    const local = sender.slice(0, at);
    const domain = sender.slice(at + 1);
    if (SRS1_TAG.test(local)) {
      const parts = splitSrs1(local);
      if (parts) return `SRS1${SEPARATOR}${this.hash(this.secrets[0]!, parts.firstHost, parts.inner)}${SEPARATOR}${parts.firstHost}${SEPARATOR}${parts.inner}@${ourDomain}`;
    }
    if (SRS0_TAG.test(local)) {
      // Keep the separator that followed SRS0: it becomes the `==` of the SRS1 form.
      const firstPart = local.slice(4);
      return `SRS1${SEPARATOR}${this.hash(this.secrets[0]!, domain, firstPart)}${SEPARATOR}${domain}${SEPARATOR}${firstPart}@${ourDomain}`;
    }
    const timestamp = this.timestamp();
    return `SRS0${SEPARATOR}${this.hash(this.secrets[0]!, timestamp, domain, local)}${SEPARATOR}${timestamp}${SEPARATOR}${domain}${SEPARATOR}${local}@${ourDomain}`;
  }

  /**
   * The address a bounce to `localPart@<one of our domains>` goes back to: the original sender
   * of an SRS0 address, or the first forwarder's SRS0 address of an SRS1 one.
   */
  reverse(localPart: string): SrsReverseResult {
    if (SRS1_TAG.test(localPart)) {
      const parts = splitSrs1(localPart);
      if (!parts) return { kind: 'invalid', reason: 'malformed' };
      if (!this.hashMatches(parts.hash, parts.firstHost, parts.inner)) return { kind: 'invalid', reason: 'bad-hash' };
      return { kind: 'original', address: `SRS0${parts.inner}@${parts.firstHost}` };
    }
    if (SRS0_TAG.test(localPart)) {
      const fields = localPart.slice(5).split(SEPARATOR);
      if (fields.length < 4) return { kind: 'invalid', reason: 'malformed' };
      const [hash, timestamp, domain] = fields as [string, string, string];
      const local = fields.slice(3).join(SEPARATOR);
      if (!hash || !/^[a-z2-7]{2}$/i.test(timestamp) || !domain || !local) return { kind: 'invalid', reason: 'malformed' };
      if (!this.hashMatches(hash, timestamp, domain, local)) return { kind: 'invalid', reason: 'bad-hash' };
      if (!this.timestampValid(timestamp)) return { kind: 'invalid', reason: 'expired' };
      return { kind: 'original', address: `${local}@${domain}` };
    }
    return { kind: 'not-srs' };
  }

  /** Base64 of HMAC-SHA1 over the lowercased fields, truncated (Mail::SRS hash_create). */
  private hash(secret: string, ...fields: string[]): string {
    const hmac = createHmac('sha1', secret);
    for (const f of fields) hmac.update(f.toLowerCase());
    return hmac.digest('base64').slice(0, this.hashLength);
  }

  /** Any secret's hash, compared without regard to case (the scheme's own rule), in constant time. */
  private hashMatches(given: string, ...fields: string[]): boolean {
    if (given.length !== this.hashLength) return false;
    const wanted = Buffer.from(given.toLowerCase());
    return this.secrets.some((s) => timingSafeEqual(Buffer.from(this.hash(s, ...fields).toLowerCase()), wanted));
  }

  private today(): number {
    return Math.floor(this.now().getTime() / DAY_MS);
  }

  private timestamp(): string {
    const day = this.today() % TIMESTAMP_SLOTS;
    return BASE32[(day >> 5) & 31]! + BASE32[day & 31]!;
  }

  /** Within maxAgeDays of today, counting back across the wrap of the 1024-day cycle; never in the future. */
  private timestampValid(timestamp: string): boolean {
    const upper = timestamp.toUpperCase();
    const then = BASE32.indexOf(upper[0]!) * 32 + BASE32.indexOf(upper[1]!);
    const now = this.today() % TIMESTAMP_SLOTS;
    const age = (now - then + TIMESTAMP_SLOTS) % TIMESTAMP_SLOTS;
    return age <= this.maxAgeDays;
  }
}

/**
 * `SRS1=HHH=first-host=<inner>`: the hash, the first forwarder, and what followed its SRS0 tag
 * (`=HHH=TT=domain=local`, starting with that tag's separator), as Mail::SRS::Guarded splits it.
 */
function splitSrs1(localPart: string): { hash: string; firstHost: string; inner: string } | null {
  const rest = localPart.slice(5);
  const a = rest.indexOf(SEPARATOR);
  const b = a < 0 ? -1 : rest.indexOf(SEPARATOR, a + 1);
  if (a <= 0 || b <= a + 1) return null;
  const inner = rest.slice(b + 1);
  if (!/^[-+=][^]+/.test(inner)) return null;
  return { hash: rest.slice(0, a), firstHost: rest.slice(a + 1, b), inner };
}

/** Whether a local part is in SRS form (either tag), whatever its case. */
export const isSrsLocalPart = (localPart: string): boolean => SRS0_TAG.test(localPart) || SRS1_TAG.test(localPart);

/**
 * MAIL_SRS_SECRET: the secret (Secrets Manager injects it into the edge task; the local stack keeps
 * one in .mail-data), or several separated by commas, the first signing and the rest still
 * accepted while a rotation settles; MAIL_SRS_MAX_AGE_DAYS (21). Null when unset: no rewriting.
 */
export function senderRewritingFromEnv(env: Record<string, string | undefined>): SenderRewriting | null {
  const secrets = (env.MAIL_SRS_SECRET ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.length === 0) return null;
  const maxAgeDays = env.MAIL_SRS_MAX_AGE_DAYS ? Number(env.MAIL_SRS_MAX_AGE_DAYS) : undefined;
  return new SenderRewriting({ secrets, ...(maxAgeDays ? { maxAgeDays } : {}) });
}
