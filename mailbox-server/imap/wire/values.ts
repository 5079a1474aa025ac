// Shared value rules of RFC 3501 §9: dates, flags, mailbox names, sequence sets.
import type { ImapDate, ImapDateTime } from './ast.ts';
import type { Cursor } from './cursor.ts';
import { isListChar } from './cursor.ts';
import { parseSequenceSet, SequenceSetError, type SequenceSet, type SequenceSetLimits } from '../sequence-set.ts';

const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const systemFlags = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'].map((f) => [f.toUpperCase(), f]));

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-" date-year
// date-day = 1*2DIGIT; date-year = 4DIGIT
export function parseDate(cursor: Cursor): ImapDate {
  const quoted = cursor.accept(0x22);
  const text = cursor.takeWhile((b) => b === 0x2d || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
  if (quoted) cursor.expect(0x22, 'a closing quote');
  const match = /^([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})$/.exec(text);
  const month = match ? months.indexOf(match[2]!.toUpperCase()) + 1 : 0;
  const day = Number(match?.[1]);
  const year = Number(match?.[3]);
  if (!match || !validDate(year, month, day)) cursor.fail('Invalid date, expected e.g. 1-Feb-1994');
  return { year, month, day };
}

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
// date-day-fixed = (SP DIGIT) / 2DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT; zone = ("+" / "-") 4DIGIT
export function parseDateTime(cursor: Cursor): ImapDateTime {
  const text = cursor.string();
  const match = /^([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})$/.exec(text);
  if (!match) return cursor.fail('Invalid date-time, expected e.g. "17-Jul-1996 02:44:25 -0700"');
  const [, d, mon, y, hh, mm, ss, sign, zh, zm] = match as unknown as string[];
  const day = Number(d!.trim());
  const month = months.indexOf(mon!.toUpperCase()) + 1;
  const year = Number(y);
  const [hour, minute, second] = [Number(hh), Number(mm), Number(ss)];
  const zoneMinutes = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 60 || Number(zm) > 59) cursor.fail('Invalid date-time');
  return { instant: new Date(Date.UTC(year, month - 1, day, hour, minute, second) - zoneMinutes * 60_000), zoneMinutes };
}

/** flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / keyword / flag-extension; system flags get canonical case. */
export function parseFlag(cursor: Cursor): string {
  const backslash = cursor.accept(0x5c);
  const name = cursor.atom('a flag');
  if (!backslash) return name;
  const canonical = systemFlags.get(`\\${name.toUpperCase()}`);
  // \Recent is server-maintained (RFC 3501 §2.3.2) and not part of `flag`.
  if (name.toUpperCase() === 'RECENT') cursor.fail('\\Recent cannot be set by a client');
  return canonical ?? `\\${name}`;
}

/** flag-list = "(" [flag *(SP flag)] ")" */
export function parseFlagList(cursor: Cursor): string[] {
  cursor.expect(0x28, '"("');
  const flags: string[] = [];
  if (cursor.accept(0x29)) return flags;
  flags.push(parseFlag(cursor));
  while (!cursor.accept(0x29)) {
    cursor.sp();
    flags.push(parseFlag(cursor));
  }
  return flags;
}

/** mailbox = "INBOX" / astring; INBOX is case-insensitive (RFC 3501 §5.1). */
export function parseMailbox(cursor: Cursor): string {
  const name = cursor.astring('a mailbox name');
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

/** list-mailbox = 1*list-char / string */
export function parseListMailbox(cursor: Cursor): string {
  if (cursor.peek() === 0x22 || cursor.peek() === 0x7b) return cursor.string();
  const text = cursor.takeWhile(isListChar);
  if (text.length === 0) cursor.fail('Expected a mailbox pattern');
  return text;
}

export function parseSequenceSetToken(cursor: Cursor, limits: SequenceSetLimits): SequenceSet {
  const text = cursor.takeWhile((b) => (b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x24 || b === 0x2c || b === 0x3a);
  try {
    return parseSequenceSet(text, limits);
  } catch (error) {
    if (error instanceof SequenceSetError) return cursor.fail(error.message);
    throw error;
  }
}
