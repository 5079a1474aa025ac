// A forward that leaves through Amazon SES carries a From: of ours. SES sends only for verified
// identities and checks the From: header's domain as well as the envelope sender's (Amazon SES
// developer guide, "Verified identities"), so internet mail an alias forwards out, still bearing
// its author's From:, would be refused. The forward is rewritten as mailing-list managers do for
// DMARC (Mailman's from_is_list "munge"): `From: "Author via example.org" <alias@example.org>`,
// the author kept in `Reply-To:` (when the message has none) and `X-Original-From:`. Only the
// header section changes; the body is sent byte for byte. docs/decisions/0013-forwarded-from.md.
import libmime from 'libmime';
import type { OutboundEvent } from '../../core/contracts.ts';
import { parseAddress } from '../../core/addresses.ts';
import { parseAddressList } from '../../core/mime/address.ts';
import type { RelayConfig } from './config.ts';

/** SES's SMTP interface: `email-smtp[-fips].<region>.amazonaws.com` (the same refusal as its API). */
const SES_SMTP_HOST = /^email-smtp(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/i;

/** Whether the next hop accepts only a From: of a verified identity: SES, by its API or its SMTP endpoint. */
export function nextHopVerifiesFrom(config: Pick<RelayConfig, 'smarthost'>): boolean {
  const s = config.smarthost;
  if (!s) return false;
  return s.kind === 'ses-api' || SES_SMTP_HOST.test(s.host);
}

/**
 * The address of ours a forward goes out as: the alias that forwarded it (or, for a reply or bounce
 * coming back through an SRS address, that address), else the SRS envelope sender itself. Null for
 * what is not a forward: mail an account submitted (its From: was checked at submission, RFC 6409
 * §6.1) and our own reports (the null reverse-path, with our From:).
 */
export function forwardedAs(event: Pick<OutboundEvent, 'authenticatedUser' | 'mailFrom' | 'forwardedBy'>): string | null {
  if (event.authenticatedUser || event.mailFrom === '') return null;
  return event.forwardedBy ?? event.mailFrom;
}

interface HeaderField { readonly name: string | null; readonly start: number; readonly end: number }

/** The header section's fields (RFC 5322 §2.2) with their byte ranges, folded lines included. */
function headerFields(raw: Buffer): { fields: HeaderField[]; end: number } {
  const fields: HeaderField[] = [];
  let start = 0;
  while (start < raw.length) {
    // The blank line ends the header section (RFC 5322 §2.1).
    if (raw[start] === 0x0d && raw[start + 1] === 0x0a) return { fields, end: start };
    if (raw[start] === 0x0a) return { fields, end: start };
    let end = raw.indexOf('\n', start);
    end = end < 0 ? raw.length : end + 1;
    while (end < raw.length && (raw[end] === 0x20 || raw[end] === 0x09)) {
      const next = raw.indexOf('\n', end);
      end = next < 0 ? raw.length : next + 1;
    }
    const name = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(raw.toString('latin1', start, Math.min(end, start + 200)))?.[1]?.toLowerCase() ?? null;
    fields.push({ name, start, end });
    start = end;
  }
  return { fields, end: raw.length };
}

/** The field's value, unfolded, without its name and line ending (UTF-8: RFC 6532 allows it in headers). */
const valueOf = (raw: Buffer, f: HeaderField) =>
  raw.toString('utf8', f.start, f.end).replace(/^[^:]*:/, '').replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n$/, '').trim();

/** The field's bytes from its colon on (value, folding and line ending as received), under another name. */
const renamed = (raw: Buffer, f: HeaderField, name: string) =>
  Buffer.concat([Buffer.from(name, 'latin1'), raw.subarray(raw.indexOf(':', f.start), f.end)]);

/** A display name as RFC 5322 §3.2.5 phrase: an encoded word (RFC 2047 §5) when it is not ASCII, else a quoted string. */
function phrase(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim();
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(clean)) return libmime.encodeWord(clean, 'Q', 52);
  return `"${clean.replace(/[\\"]/g, '\\$&')}"`;
}

export type FromRewrite =
  | { readonly kind: 'rewritten'; readonly message: Buffer; readonly originalFrom: string }
  | { readonly kind: 'unchanged'; readonly reason: 'ours' | 'no-from' };

/**
 * Rewrites the first From: field of `raw` to `via` (an address of ours), unless its address is
 * already in one of our domains. Reply-To: gets the original From: value when the message has no
 * Reply-To (RFC 5322 §3.6.2: replies go there), and X-Original-From: keeps it in any case. The
 * From: line is replaced where it stood; the two fields follow it; every other byte is kept.
 */
export async function rewriteForwardedFrom(raw: Buffer, via: string, isOurs: (domain: string) => Promise<boolean>): Promise<FromRewrite> {
  const { fields } = headerFields(raw);
  const from = fields.find((f) => f.name === 'from');
  if (!from) return { kind: 'unchanged', reason: 'no-from' };
  const original = valueOf(raw, from);
  const first = parseAddressList(original).find((a) => a.mailbox && a.host);
  if (first?.host && await isOurs(first.host.toLowerCase())) return { kind: 'unchanged', reason: 'ours' };
  const viaDomain = parseAddress(via)?.domain ?? via.slice(via.lastIndexOf('@') + 1);
  const author = first?.name ? libmime.decodeWords(first.name) : first ? `${first.mailbox}@${first.host}` : original;
  const eol = raw.toString('latin1', from.end - 2, from.end) === '\r\n' ? '\r\n' : '\n';
  const added = [Buffer.from(`From: ${phrase(`${author} via ${viaDomain}`)} <${via}>${eol}`, 'utf8')];
  if (!fields.some((f) => f.name === 'reply-to')) added.push(renamed(raw, from, 'Reply-To'));
  added.push(renamed(raw, from, 'X-Original-From'));
  const message = Buffer.concat([raw.subarray(0, from.start), ...added, raw.subarray(from.end)]);
  return { kind: 'rewritten', message, originalFrom: original };
}
