// Mail address handling: the one normal form every lookup and key uses.

export interface ParsedAddress {
  readonly local: string;
  readonly domain: string;
  /** local@domain with the domain lowercased and IDNA-normalised, local part as given. */
  readonly address: string;
}

const MAX_ADDRESS = 254;
const MAX_LOCAL = 64;

/** Lowercases and converts a domain to its ASCII (punycode) form; null if it is not a plausible domain. */
export function normaliseDomain(domain: string): string | null {
  const trimmed = domain.trim().replace(/\.$/, '');
  if (!trimmed || trimmed.length > 253) return null;
  let ascii: string;
  try {
    ascii = new URL(`http://${trimmed}`).hostname;
  } catch {
    return null;
  }
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(ascii) && !/^\[[0-9a-f:.]+\]$/i.test(trimmed)) return null;
  return ascii;
}

/**
 * Parses `local@domain` (no angle brackets). Local parts are compared case-insensitively
 * by this system (as nearly every server does), so the key form lowercases them too.
 */
export function parseAddress(input: string): ParsedAddress | null {
  const value = input.trim();
  if (!value || value.length > MAX_ADDRESS || /[\s<>\x00-\x1f\x7f]/.test(value)) return null;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return null;
  const local = value.slice(0, at);
  if (local.length > MAX_LOCAL) return null;
  const domain = normaliseDomain(value.slice(at + 1));
  if (!domain) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/** The key form of an address: lowercased local part and normalised domain. */
export function addressKey(input: string): string | null {
  const parsed = parseAddress(input);
  return parsed ? `${parsed.local.toLowerCase()}@${parsed.domain}` : null;
}

/**
 * A login name as the account key it names, or null when it is not a plain address. Plain means
 * what a user types: a dot-atom local part (RFC 5322 §3.2.3, without `/ % # ?`) and a domain of
 * letter-digit-hyphen labels (Unicode letters allowed, RFC 5890), no trailing dot. Anything else
 * (`alice@example.test/x`, `alice@ex%61mple.test`, `alice@example.test:9#x`, `alice@example.test.`)
 * would otherwise reach the same account through the URL parser behind normaliseDomain while
 * looking like another name to whoever counts failures by name.
 */
export function loginAccountKey(input: string): string | null {
  if (input.length > MAX_ADDRESS) return null;
  const at = input.lastIndexOf('@');
  if (at <= 0) return null;
  const local = input.slice(0, at);
  const domain = input.slice(at + 1);
  if (!/^[\p{L}\p{N}!$&'*+=^_`{|}~-]+(?:\.[\p{L}\p{N}!$&'*+=^_`{|}~-]+)*$/u.test(local)) return null;
  if (!/^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*$/u.test(domain)) return null;
  return addressKey(input);
}
