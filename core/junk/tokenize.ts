// The words a junk verdict is made of: tokens of a bounded prefix of a message's header and
// decoded text (docs/decisions/0015-junk-filter.md). Never throws, never reads past the prefix.
import { simpleParser } from 'mailparser';

/** Bytes of a message looked at: enough for the header and the first screens of text. */
export const TOKENIZE_PREFIX_BYTES = 256 * 1024;
/** Distinct tokens kept per message: bounds the work of training and classifying one message. */
export const MAX_TOKENS_PER_MESSAGE = 2_000;

/** Header fields whose words say something about the sender and its software; each token is prefixed with the field name. */
const WORD_HEADERS = new Set(['from', 'reply-to', 'subject', 'to', 'cc', 'x-mailer', 'user-agent', 'content-type', 'message-id', 'list-id', 'precedence', 'x-priority', 'return-path']);

const WORD = /[\p{L}\p{N}$€£¥!'_-]{3,24}/gu;

function words(text: string, prefix: string, into: Set<string>): void {
  for (const match of text.toLowerCase().matchAll(WORD)) {
    if (into.size >= MAX_TOKENS_PER_MESSAGE) return;
    const word = match[0].replace(/^['_-]+|['_-]+$/g, '');
    // Long digit runs are ids and dates: one token for all of them says "a number was here".
    const token = /^\d{5,}$/.test(word) ? '#num' : word;
    if (token.length >= 3) into.add(prefix + token);
  }
}

/**
 * Tags and entities out, so the words of an HTML part count like those of a text part; the tag
 * names are tokens too. One pass with indexOf (no backtracking regex: `<<<<…` must stay linear).
 */
function htmlWords(html: string, into: Set<string>): void {
  const text: string[] = [];
  const lower = html.toLowerCase();
  let at = 0;
  while (at < html.length) {
    const open = html.indexOf('<', at);
    if (open < 0) {
      text.push(html.slice(at));
      break;
    }
    text.push(html.slice(at, open));
    const close = html.indexOf('>', open);
    if (close < 0) break;
    const name = /^<\s*\/?\s*([a-z][a-z0-9]{0,10})/i.exec(html.slice(open, Math.min(close, open + 16)))?.[1]?.toLowerCase();
    if (name && into.size < MAX_TOKENS_PER_MESSAGE) into.add(`html:${name}`);
    at = close + 1;
    if ((name === 'script' || name === 'style') && html[open + 1] !== '/') {
      const end = lower.indexOf(`</${name}`, at);
      if (end < 0) break;
      at = end;
    }
  }
  words(text.join(' ').replace(/&nbsp;/gi, ' ').replace(/&[a-z]{2,8};|&#\d{1,6};/gi, ' '), '', into);
}

/** The unfolded header fields of `raw` (up to its first empty line), name lowercased. */
function headerFields(raw: Buffer): Array<[string, string]> {
  let end = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) end = lf;
  const text = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const fields: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1]![1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
  }
  return fields;
}

/**
 * The distinct tokens of a message: words of selected header fields (`subject:free`), the
 * domains of URLs and addresses, decoded words of text and HTML parts, attachment types, and
 * the `extra` tokens the caller derives (authentication results). Only the first
 * TOKENIZE_PREFIX_BYTES are read, so a 25 MiB message costs what a 256 KiB one does.
 */
export async function tokenizeMessage(raw: Buffer, extra: readonly string[] = []): Promise<Set<string>> {
  const prefix = raw.subarray(0, TOKENIZE_PREFIX_BYTES);
  const tokens = new Set<string>(extra);
  for (const [name, value] of headerFields(prefix)) {
    if (WORD_HEADERS.has(name)) words(value, `${name}:`, tokens);
  }
  try {
    const parsed = await simpleParser(prefix, { skipImageLinks: true, skipTextToHtml: true, skipHtmlToText: true, maxHtmlLengthToParse: TOKENIZE_PREFIX_BYTES });
    if (parsed.text) words(parsed.text, '', tokens);
    if (typeof parsed.html === 'string') htmlWords(parsed.html, tokens);
    for (const attachment of parsed.attachments ?? []) {
      tokens.add(`attach:${attachment.contentType.toLowerCase()}`);
      const ext = /\.([a-z0-9]{1,6})$/i.exec(attachment.filename ?? '')?.[1];
      if (ext) tokens.add(`attach:.${ext.toLowerCase()}`);
    }
  } catch {
    // Unparseable as MIME (binary garbage): its bytes read as text still give words.
    words(prefix.toString('latin1'), '', tokens);
  }
  for (const host of prefix.toString('latin1').matchAll(/(?:https?:\/\/|@)([a-z0-9.-]{3,80}\.[a-z]{2,12})/gi)) {
    if (tokens.size >= MAX_TOKENS_PER_MESSAGE) break;
    tokens.add(`host:${host[1]!.toLowerCase().split('.').slice(-2).join('.')}`);
  }
  return tokens;
}
