// SEARCH evaluation (RFC 3501 §6.4.4, RFC 7162 §3.1.5 MODSEQ, RFC 5032 WITHIN, RFC 5182 "$"). Three-valued: keys on flags, UIDs,
// sequence numbers, sizes and internal dates are answered from the message state alone; only
// messages those cannot decide get their stored item (sent date), header block or decoded body.
import libmime from 'libmime';
import { simpleParser } from 'mailparser';
import type { MessageItem, MessageState } from '../../core/store/types.ts';
import { parseAddressList } from '../../core/mime/address.ts';
import type { BodyPart } from '../../core/mime/types.ts';
import type { ImapDate, SearchKey } from './wire/ast.ts';
import { emailId } from './object-id.ts';
import { sequenceSetContains } from './sequence-set.ts';

/** What a message offers to the evaluator; absent fields are not loaded (yet). */
export interface SearchSubject {
  readonly msn: number;
  readonly state: MessageState;
  item?: MessageItem;
  /** Header fields, lowercased names, unfolded and RFC 2047-decoded values. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Decoded body text (text parts, HTML stripped of tags). */
  body?: string;
  /** Header fields of the body parts and encapsulated messages: TEXT covers them, BODY does not. */
  partHeaders?: ReadonlyArray<readonly [string, string]>;
}

export interface SearchScope {
  /** The account searched (EMAILID is derived with it). */
  readonly account?: string;
  readonly exists: number;
  readonly maxUid: number;
  /** RFC 5182 §2.1: the UIDs of the saved result, what "$" names. */
  readonly saved?: ReadonlySet<number>;
  /** RFC 5032: the instant YOUNGER/OLDER count back from (ms since the epoch). */
  readonly now?: number;
}

export interface SearchNeeds {
  readonly item: boolean;
  readonly headers: boolean;
  readonly body: boolean;
}

export function searchNeeds(key: SearchKey): SearchNeeds {
  switch (key.kind) {
    case 'header':
      return { item: false, headers: true, body: false };
    case 'body':
      return { item: false, headers: false, body: true };
    case 'text':
      return { item: false, headers: true, body: true };
    case 'date':
      return { item: key.of !== 'internal', headers: false, body: false };
    case 'objectid':
      return { item: key.of === 'email', headers: false, body: false };
    case 'not':
      return searchNeeds(key.key);
    case 'or':
      return merge([searchNeeds(key.left), searchNeeds(key.right)]);
    case 'and':
      return merge(key.keys.map(searchNeeds));
    default:
      return { item: false, headers: false, body: false };
  }
}

const merge = (needs: SearchNeeds[]): SearchNeeds => ({
  item: needs.some((n) => n.item),
  headers: needs.some((n) => n.headers),
  body: needs.some((n) => n.body),
});

export function usesModSeq(key: SearchKey): boolean {
  if (key.kind === 'modseq') return true;
  if (key.kind === 'not') return usesModSeq(key.key);
  if (key.kind === 'or') return usesModSeq(key.left) || usesModSeq(key.right);
  if (key.kind === 'and') return key.keys.some(usesModSeq);
  return false;
}

const dayNumber = (d: ImapDate) => d.year * 10000 + d.month * 100 + d.day;

function compareDay(day: number, op: 'before' | 'on' | 'since', target: ImapDate): boolean {
  const t = dayNumber(target);
  return op === 'before' ? day < t : op === 'on' ? day === t : day >= t;
}

const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** The calendar date of a Date: header as written (RFC 3501 §6.4.4 disregards time and zone), or null. */
export function sentDayNumber(header: string | null): number | null {
  if (!header) return null;
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(header);
  if (m) {
    const month = monthNames.indexOf(m[2]!.toLowerCase()) + 1;
    let year = Number(m[3]);
    if (year < 50) year += 2000;
    else if (year < 1000) year += 1900;
    if (month > 0) return year * 10000 + month * 100 + Number(m[1]);
  }
  const t = Date.parse(header);
  if (Number.isNaN(t)) return null;
  const d = new Date(t);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

const includes = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase());

/** The fields SEARCH FROM/TO/CC/BCC name (RFC 3501 §6.4.4), matched also on their parsed addresses. */
const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc']);

/**
 * An address written with comments or folding (`<user (c)@ (c) domain.org>`) holds
 * `user@domain.org` only once parsed, so the parsed form `Name <local@host>` is searched too.
 */
function addressesInclude(value: string, needle: string): boolean {
  return parseAddressList(value).some((a) => a.host !== null && includes(`${a.name ?? ''} <${a.mailbox ?? ''}@${a.host}>`, needle));
}

/** true / false, or undefined when the subject lacks the data to decide. */
export function evaluate(key: SearchKey, s: SearchSubject, scope: SearchScope): boolean | undefined {
  switch (key.kind) {
    case 'all':
      return true;
    case 'flag':
      return s.state.flags.includes(key.flag) === key.present;
    case 'sequence':
      return key.set.kind === 'ranges' ? sequenceSetContains(key.set, s.msn, scope.exists) : inSavedResult(s, scope);
    case 'uid':
      return key.set.kind === 'ranges' ? sequenceSetContains(key.set, s.state.uid, scope.maxUid) : inSavedResult(s, scope);
    case 'within':
      return isWithin(key, s.state, scope);
    case 'objectid':
      return hasObjectId(key, s, scope);
    case 'size':
      return key.op === 'larger' ? s.state.size > key.octets : s.state.size < key.octets;
    case 'modseq':
      return s.state.modSeq >= Number(key.modseq);
    case 'date': {
      if (key.of === 'internal') {
        const d = new Date(s.state.internalDate);
        return compareDay(d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate(), key.op, key.date);
      }
      if (!s.item) return undefined;
      if (key.of === 'saved') return compareDay(savedDayNumber(s.item), key.op, key.date);
      const day = sentDayNumber(s.item.index.envelope.date);
      return day === null ? false : compareDay(day, key.op, key.date);
    }
    case 'header': {
      if (!s.headers) return undefined;
      const field = key.field.toLowerCase();
      // RFC 3501 §6.4.4 HEADER with an empty string matches every message that has the field.
      return s.headers.some(([name, value]) => name === field && (includes(value, key.value) || (ADDRESS_FIELDS.has(field) && addressesInclude(value, key.value))));
    }
    case 'body':
      return s.body === undefined ? undefined : includes(s.body, key.value);
    case 'text': {
      // RFC 3501 §6.4.4: TEXT is "the header or body of the message"; the body includes the
      // MIME headers of its parts (found by Dovecot as well, test/mailbox-server/differential/imap.test.ts).
      const fields = s.headers && s.partHeaders ? [...s.headers, ...s.partHeaders] : s.headers;
      const inHeader = fields ? fields.some(([name, value]) => includes(`${name}: ${value}`, key.value)) : undefined;
      if (inHeader === true) return true;
      const inBody = s.body === undefined ? undefined : includes(s.body, key.value);
      if (inBody === true) return true;
      return inHeader === false && inBody === false ? false : undefined;
    }
    case 'not': {
      const r = evaluate(key.key, s, scope);
      return r === undefined ? undefined : !r;
    }
    case 'or': {
      const l = evaluate(key.left, s, scope);
      if (l === true) return true;
      const r = evaluate(key.right, s, scope);
      if (r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'and': {
      let unknown = false;
      for (const k of key.keys) {
        const r = evaluate(k, s, scope);
        if (r === false) return false;
        if (r === undefined) unknown = true;
      }
      return unknown ? undefined : true;
    }
  }
}

/**
 * RFC 8514 §4.2: the day (UTC) a message was saved into the mailbox; an item stored before save
 * dates were kept counts from its internal date, the closest date it has.
 */
function savedDayNumber(item: MessageItem): number {
  const d = new Date(item.savedAt ?? item.internalDate);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** RFC 8474 §6: EMAILID compares the message's id; THREADID never matches (THREADID is NIL here). */
function hasObjectId(key: Extract<SearchKey, { kind: 'objectid' }>, s: SearchSubject, scope: SearchScope): boolean | undefined {
  if (key.of === 'thread') return false;
  if (!s.item) return undefined;
  return emailId(scope.account ?? '', s.item.blobKey) === key.id;
}

/** RFC 5182 §2.1: "$" is the saved result, whether written as a message set or after UID. */
const inSavedResult = (s: SearchSubject, scope: SearchScope) => scope.saved?.has(s.state.uid) ?? false;

/** RFC 5032 §3: YOUNGER n has an internal date within the last n seconds; OLDER n, not. */
function isWithin(key: Extract<SearchKey, { kind: 'within' }>, state: MessageState, scope: SearchScope): boolean {
  const age = (scope.now ?? Date.now()) - Date.parse(state.internalDate);
  return key.op === 'younger' ? age <= key.seconds * 1000 : age > key.seconds * 1000;
}

// ---- decoding what header and body searches look at -----------------------------------------

/** Header block bytes → [lowercased name, unfolded value with its RFC 2047 encoded-words decoded] pairs. */
export function parseHeaderFields(block: Buffer): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  const text = block.toString('utf8');
  for (const raw of text.split(/\r?\n(?![ \t])/)) {
    if (raw.trim() === '') continue;
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    const value = raw.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
    fields.push([raw.slice(0, colon).trim().toLowerCase(), libmime.decodeWords(value)]);
  }
  return fields;
}

/** Cap on the bytes of one message decoded for BODY/TEXT search, so one huge message cannot stall a session. */
export const MAX_SEARCH_BODY_BYTES = 10 * 1024 * 1024;

/** The text BODY searches: decoded text parts, HTML with its tags removed. */
export async function decodedBodyText(raw: Buffer): Promise<string> {
  const parsed = await simpleParser(raw.subarray(0, MAX_SEARCH_BODY_BYTES), { skipImageLinks: true, skipTextToHtml: true, skipHtmlToText: true });
  const html = typeof parsed.html === 'string' ? parsed.html.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ') : '';
  return `${parsed.text ?? ''}\n${html}`;
}

/** The header fields of every part below the root (and of encapsulated messages), from the part map. */
export function partHeaderFields(raw: Buffer, root: BodyPart): Array<readonly [string, string]> {
  const fields: Array<readonly [string, string]> = [];
  const visit = (part: BodyPart, isRoot: boolean) => {
    if (!isRoot && part.offsets.bodyStart > part.offsets.headerStart) {
      fields.push(...parseHeaderFields(raw.subarray(part.offsets.headerStart, part.offsets.bodyStart)));
    }
    if (part.kind === 'multipart') for (const child of part.parts) visit(child, false);
    else if (part.message) visit(part.message.body, false);
  };
  visit(root, true);
  return fields;
}
