// A message's preview text (RFC 8970 §3: at most 256 characters, no markup, whitespace collapsed)
// from its first text part, found in the stored part map and read with one bounded ranged read:
// a preview never costs more than PREVIEW_READ_OCTETS of the blob, whatever the message's size.
import type { BodyPart, SinglePart } from './types.ts';

/** Octets of the text part read at most; enough encoded text for 256 characters and then some. */
export const PREVIEW_READ_OCTETS = 4096;
/** RFC 8970 §3: no more than 256 characters; 200, as Dovecot gives, reads well in a message list. */
export const PREVIEW_MAX_CHARACTERS = 200;

/** The part a preview is taken from: the first inline text/plain, else the first inline text/html. */
export function previewPart(body: BodyPart): SinglePart | null {
  const texts: SinglePart[] = [];
  const visit = (part: BodyPart) => {
    if (part.kind === 'multipart') {
      for (const child of part.parts) visit(child);
      return;
    }
    if (part.type === 'text' && (part.subtype === 'plain' || part.subtype === 'html') && part.disposition?.type !== 'attachment') texts.push(part);
  };
  visit(body);
  return texts.find((p) => p.subtype === 'plain') ?? texts[0] ?? null;
}

/** The byte range of the blob a preview of `part` reads. */
export function previewRange(part: SinglePart): { start: number; end: number } {
  return { start: part.offsets.bodyStart, end: Math.min(part.offsets.end, part.offsets.bodyStart + PREVIEW_READ_OCTETS) };
}

/** The preview of `part` from the first bytes of its body (as read with previewRange). */
export function previewText(part: SinglePart, bytes: Buffer): string {
  const truncated = part.offsets.end - part.offsets.bodyStart > bytes.length;
  let text = decodeCharset(decodeTransfer(part.encoding, bytes, truncated), part.params.find(([name]) => name === 'charset')?.[1] ?? 'us-ascii');
  if (part.subtype === 'html') text = htmlToText(text);
  const collapsed = text.replace(/\s+/gu, ' ').trim();
  const characters = [...collapsed];
  return characters.length > PREVIEW_MAX_CHARACTERS ? characters.slice(0, PREVIEW_MAX_CHARACTERS).join('').trimEnd() : collapsed;
}

function decodeTransfer(encoding: string, bytes: Buffer, truncated: boolean): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64': {
      const clean = bytes.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
      // A cut read ends mid-quantum: decode only whole 4-character groups.
      return Buffer.from(truncated ? clean.slice(0, clean.length - (clean.length % 4)) : clean, 'base64');
    }
    case 'quoted-printable': {
      const text = bytes.toString('latin1').replace(/=\r?\n/g, '');
      return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    }
    default:
      return bytes;
  }
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    // A character cut by the read limit decodes to U+FFFD, removed below.
    return new TextDecoder(charset.toLowerCase() === 'us-ascii' ? 'utf-8' : charset).decode(bytes).replace(/\uFFFD+$/u, '');
  } catch {
    return bytes.toString('latin1');
  }
}

/** Text of an HTML fragment: scripts, styles and tags dropped, the common entities decoded. */
function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?(<\/\1\s*>|$)/gi, ' ')
    .replace(/<[^>]*>?/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#(\d{1,7});/g, (_m, n: string) => (Number(n) <= 0x10ffff ? String.fromCodePoint(Number(n)) : ' '))
    .replace(/&amp;/gi, '&');
}
