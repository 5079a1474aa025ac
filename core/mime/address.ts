// Parses RFC 5322 §3.4 address lists, group syntax included, into IMAP address
// structures (RFC 3501 §7.4.2). Values stay raw: encoded words are not decoded. An address
// written without a display name takes the text of a comment after it as addr-name, so the old style
// `user@domain (Real Name)` (RFC 822 §6.1, RFC 5322 §4.4) keeps its name, as c-client and Dovecot do.

import { clip, headerText } from './bytes.ts';
import { readQuoted, skipComment } from './params.ts';
import type { EnvelopeAddress } from './types.ts';

/**
 * Host for an address written without a domain: a null host would read as group syntax,
 * so this follows the UW IMAP / Dovecot convention of a host that cannot be real.
 */
export const MISSING_HOST = '.MISSING-HOST-NAME.';
const MAX_ADDRESS_PART = 256;

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly quoted: boolean }
  | { readonly kind: 'special'; readonly text: string }
  | { readonly kind: 'comment'; readonly text: string };

const SPECIALS = '<>:;,@';

/** A comment's text: without its outer parentheses, quoted-pairs unescaped, folding removed. */
function commentText(text: string, start: number, end: number): string {
  return text.slice(start + 1, end - 1).replace(/\r?\n/g, '').replace(/\\(.)/g, '$1');
}

/** Splits an address header into words (atoms, quoted strings, domain literals), specials and comments. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let p = 0;
  while (p < text.length) {
    const ch = text[p]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') p++;
    else if (ch === '(') {
      const next = skipComment(text, p);
      tokens.push({ kind: 'comment', text: commentText(text, p, next) });
      p = next;
    }
    else if (ch === '"') {
      const quoted = readQuoted(text, p);
      tokens.push({ kind: 'word', text: quoted.value, quoted: true });
      p = quoted.next;
    } else if (ch === '[') {
      const close = text.indexOf(']', p);
      const next = close < 0 ? text.length : close + 1;
      tokens.push({ kind: 'word', text: text.slice(p, next), quoted: false });
      p = next;
    } else if (SPECIALS.includes(ch)) {
      tokens.push({ kind: 'special', text: ch });
      p++;
    } else {
      // An atom; dots are let in so obs-phrase ("John Q. Public") and dot-atoms stay whole.
      const start = p;
      while (p < text.length && !' \t\r\n()"[<>:;,@'.includes(text[p]!)) p++;
      if (p === start) p++;
      tokens.push({ kind: 'word', text: text.slice(start, p), quoted: false });
    }
  }
  return tokens;
}

/** A display name: words joined by single spaces, quoted strings unquoted (as IMAP clients expect). */
function phraseText(tokens: readonly Token[]): string | null {
  const text = tokens.map((token) => token.text).join(' ');
  return text ? clipPart(text) : null;
}

/** A local part as written, quoting kept so the address can be rebuilt exactly. */
function localPartText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => (token.kind === 'word' && token.quoted ? `"${token.text.replace(/(["\\])/g, '\\$1')}"` : token.text))
    .join('');
}

function clipPart(binary: string): string {
  return clip(headerText(binary), MAX_ADDRESS_PART);
}

/** Builds a mailbox from an addr-spec's tokens: local part before the last '@', domain after. */
function mailboxFromSpec(name: string | null, adl: string | null, spec: readonly Token[]): EnvelopeAddress {
  let at = -1;
  for (let i = spec.length - 1; i >= 0; i--) {
    const token = spec[i]!;
    if (token.kind === 'special' && token.text === '@') {
      at = i;
      break;
    }
  }
  if (at < 0) {
    const local = localPartText(spec);
    return { name, adl, mailbox: clipPart(local), host: local ? MISSING_HOST : '' };
  }
  const domain = spec.slice(at + 1).map((token) => token.text).join('');
  return { name, adl, mailbox: clipPart(localPartText(spec.slice(0, at))), host: domain ? clipPart(domain) : MISSING_HOST };
}

/**
 * Parses an address list. A group becomes a start marker (mailbox = group name, host
 * null), its members, and an end marker (all null), as RFC 3501 §7.4.2 describes.
 * Stops adding once `accept` refuses an address, still closing an open group.
 */
export function parseAddressList(text: string, accept: (address: EnvelopeAddress) => boolean = () => true): EnvelopeAddress[] {
  const tokens = tokenize(text);
  const addresses: EnvelopeAddress[] = [];
  let full = false;
  let inGroup = false;
  let phrase: Token[] = [];
  let angle: { adl: string | null; spec: Token[] } | null = null;
  /** The last comment of the address being read: its addr-name when it has no display name. */
  let comment: string | null = null;

  const push = (address: EnvelopeAddress): void => {
    if (!full && !accept(address)) full = true;
    if (!full) addresses.push(address);
  };
  const flush = (): void => {
    const fromComment = comment ? clipPart(comment) : null;
    if (angle) push(mailboxFromSpec(phraseText(phrase), angle.adl, angle.spec));
    else if (phrase.length > 0) push(mailboxFromSpec(fromComment, null, phrase));
    phrase = [];
    angle = null;
    comment = null;
  };
  const endGroup = (): void => {
    // The end marker is pushed even when full, so a truncated list stays well formed.
    addresses.push({ name: null, adl: null, mailbox: null, host: null });
    inGroup = false;
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'comment') {
      // Only a comment after an addr-spec names it (as Dovecot reads it too); one before it or
      // inside an angle-addr is only a comment.
      if (phrase.length > 0 && !angle && token.text.trim()) comment = token.text;
      continue;
    }
    if (token.kind === 'word') {
      phrase.push(token);
      continue;
    }
    switch (token.text) {
      case '<': {
        // angle-addr with an optional obs-route "@a,@b:" (RFC 5322 §4.4) that becomes the adl.
        const inner: Token[] = [];
        let j = i + 1;
        for (; j < tokens.length && !(tokens[j]!.kind === 'special' && tokens[j]!.text === '>'); j++) {
          if (tokens[j]!.kind !== 'comment') inner.push(tokens[j]!);
        }
        i = j;
        if (angle) break;
        let adl: string | null = null;
        const colon = inner.findIndex((t) => t.kind === 'special' && t.text === ':');
        let spec = inner;
        if (colon >= 0 && inner[0]?.kind === 'special' && inner[0].text === '@') {
          adl = clipPart(inner.slice(0, colon).map((t) => t.text).join(''));
          spec = inner.slice(colon + 1);
        }
        angle = { adl, spec };
        break;
      }
      case ':':
        if (!inGroup && !angle) {
          const name = phraseText(phrase);
          phrase = [];
          comment = null;
          if (full || !accept({ name: null, adl: null, mailbox: name, host: null })) {
            full = true;
          } else {
            addresses.push({ name: null, adl: null, mailbox: name, host: null });
            inGroup = true;
          }
        }
        break;
      case ';':
        flush();
        if (inGroup) endGroup();
        break;
      case ',':
        flush();
        break;
      case '@':
      default:
        // '@' is part of an addr-spec; a stray '>' is ignored.
        if (token.text === '@') phrase.push(token);
        break;
    }
  }
  flush();
  if (inGroup) endGroup();
  return addresses;
}
