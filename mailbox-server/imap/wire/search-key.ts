// SEARCH criteria (RFC 3501 §6.4.4 and §9 search-key; RFC 7162 §3.4 MODSEQ; RFC 5032 WITHIN;
// RFC 5182 "$"), with a nesting cap.
import type { SearchKey } from './ast.ts';
import type { Cursor } from './cursor.ts';
import { parseDate, parseFlag, parseSequenceSetToken } from './values.ts';
import type { SequenceSetLimits } from '../sequence-set.ts';

export interface SearchGrammarLimits {
  readonly maxDepth: number;
  readonly sequence: SequenceSetLimits;
}

// Tables of data, one row per RFC 3501 §6.4.4 search key: rows of one shape on purpose.
// flag keys: the flag, and whether the message must have it.
const flagKeys: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  RECENT: ['\\Recent', true],
  SEEN: ['\\Seen', true],
  OLD: ['\\Recent', false],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};
const headerKeys: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };
const dateKeys: Record<string, [of: 'internal' | 'sent' | 'saved', op: 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  // RFC 8514 §4.2
  SAVEDBEFORE: ['saved', 'before'],
  SAVEDON: ['saved', 'on'],
  SAVEDSINCE: ['saved', 'since'],
};

/** 1*(SP search-key) after SEARCH [CHARSET x]: several keys mean all of them. */
export function parseSearchCriteria(cursor: Cursor, limits: SearchGrammarLimits): SearchKey {
  const keys: SearchKey[] = [];
  do {
    cursor.sp();
    keys.push(parseSearchKey(cursor, limits, 0));
  } while (!cursor.atEnd());
  return keys.length === 1 ? keys[0]! : { kind: 'and', keys };
}

function parseSearchKey(cursor: Cursor, limits: SearchGrammarLimits, depth: number): SearchKey {
  if (depth >= limits.maxDepth) cursor.fail('Search criteria nested too deeply');
  // "(" search-key *(SP search-key) ")"
  if (cursor.accept(0x28)) {
    const keys = [parseSearchKey(cursor, limits, depth + 1)];
    while (!cursor.accept(0x29)) {
      cursor.sp();
      keys.push(parseSearchKey(cursor, limits, depth + 1));
    }
    return keys.length === 1 ? keys[0]! : { kind: 'and', keys };
  }
  const first = cursor.peek();
  if ((first >= 0x30 && first <= 0x39) || first === 0x2a || first === 0x24) {
    return { kind: 'sequence', set: sequenceSet(cursor, limits) };
  }
  const name = cursor.keyword('a search key');
  const flag = flagKeys[name];
  if (flag) return { kind: 'flag', flag: flag[0], present: flag[1] };
  const header = headerKeys[name];
  if (header) return { kind: 'header', field: header, value: (cursor.sp(), cursor.astring()) };
  const date = dateKeys[name];
  if (date) return { kind: 'date', of: date[0], op: date[1], date: (cursor.sp(), parseDate(cursor)) };
  switch (name) {
    case 'ALL':
    // RFC 8514 §4.2: every mailbox here keeps save dates.
    case 'SAVEDATESUPPORTED':
      return { kind: 'all' };
    // RFC 3501: NEW is equivalent to (RECENT UNSEEN).
    case 'NEW':
      return { kind: 'and', keys: [{ kind: 'flag', flag: '\\Recent', present: true }, { kind: 'flag', flag: '\\Seen', present: false }] };
    case 'KEYWORD':
    case 'UNKEYWORD': {
      cursor.sp();
      const keyword = parseFlag(cursor);
      if (keyword.startsWith('\\')) cursor.fail('KEYWORD takes a keyword, not a system flag');
      return { kind: 'flag', flag: keyword, present: name === 'KEYWORD' };
    }
    case 'BODY':
    case 'TEXT':
      cursor.sp();
      return { kind: name === 'BODY' ? 'body' : 'text', value: cursor.astring() };
    case 'HEADER': {
      cursor.sp();
      const field = cursor.astring('a header field name');
      cursor.sp();
      return { kind: 'header', field, value: cursor.astring() };
    }
    case 'LARGER':
    case 'SMALLER':
      cursor.sp();
      return { kind: 'size', op: name === 'LARGER' ? 'larger' : 'smaller', octets: cursor.number() };
    case 'UID':
      cursor.sp();
      return { kind: 'uid', set: sequenceSet(cursor, limits) };
    case 'NOT':
      cursor.sp();
      return { kind: 'not', key: parseSearchKey(cursor, limits, depth + 1) };
    case 'OR': {
      cursor.sp();
      const left = parseSearchKey(cursor, limits, depth + 1);
      cursor.sp();
      return { kind: 'or', left, right: parseSearchKey(cursor, limits, depth + 1) };
    }
    case 'MODSEQ':
      return parseModseqKey(cursor);
    // RFC 8474 §7: search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid
    case 'EMAILID':
    case 'THREADID': {
      cursor.sp();
      const id = cursor.atom('an object id');
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) cursor.fail('Invalid object id');
      return { kind: 'objectid', of: name === 'EMAILID' ? 'email' : 'thread', id };
    }
    // RFC 5032 §4: search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number
    case 'OLDER':
    case 'YOUNGER':
      cursor.sp();
      return { kind: 'within', op: name === 'OLDER' ? 'older' : 'younger', seconds: cursor.nzNumber('a number of seconds') };
    default:
      return cursor.fail(`Unknown search key ${name.slice(0, 40)}`);
  }
}

// RFC 7162 §3.4: search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
// search-modseq-ext = SP entry-name SP entry-type-req; entry-type-req = "priv" / "shared" / "all"
function parseModseqKey(cursor: Cursor): SearchKey {
  cursor.sp();
  if (cursor.peek() === 0x22 || cursor.peek() === 0x7b || !(cursor.peek() >= 0x30 && cursor.peek() <= 0x39)) {
    const name = cursor.astring('an entry name');
    cursor.sp();
    const type = cursor.keyword('an entry type').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') cursor.fail('Invalid MODSEQ entry type');
    cursor.sp();
    return { kind: 'modseq', modseq: cursor.modSequence(true), entry: { name, type } };
  }
  return { kind: 'modseq', modseq: cursor.modSequence(true), entry: null };
}

function sequenceSet(cursor: Cursor, limits: SearchGrammarLimits) {
  return parseSequenceSetToken(cursor, limits.sequence);
}
