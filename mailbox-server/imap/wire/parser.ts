// Parses one framed IMAP command into its typed form (RFC 3501 §9 command grammar, with the
// extensions we advertise). Wire only: no session state, no store. Failures are ParseError.
import type { CommandChunk } from './reader.ts';
import { readTag } from './reader.ts';
import type { AppendMessage, ImapCommand, ListReturnOptions, SearchReturnOptions, SortCriterion, SortKey, StatusItem, QresyncParameter } from './ast.ts';
import { Cursor } from './cursor.ts';
import { ParseError } from './parse-error.ts';
import { parseFetchAttributes } from './fetch-att.ts';
import { parseSearchCriteria } from './search-key.ts';
import { parseDateTime, parseFlag, parseFlagList, parseListMailbox, parseMailbox, parseSequenceSetToken } from './values.ts';
import type { SequenceSet, SequenceSetLimits } from '../sequence-set.ts';

export interface ParserOptions {
  readonly maxDepth: number;
  readonly maxSequenceRanges: number;
  /** "$" allowed (RFC 5182 SEARCHRES). */
  readonly allowSavedResult: boolean;
}

type Grammar = (cursor: Cursor, tag: string, options: ParserOptions) => ImapCommand;

const statusItems = new Set<StatusItem>(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'APPENDLIMIT', 'DELETED', 'DELETED-STORAGE', 'MAILBOXID']);
const listSelectOptions = new Set(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);

const sequenceLimits = (o: ParserOptions): SequenceSetLimits => ({ maxRanges: o.maxSequenceRanges, allowSaved: o.allowSavedResult });

/** Commands without arguments. */
const bare =
  (name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'CHECK' | 'CLOSE' | 'UNSELECT' | 'IDLE' | 'NAMESPACE' | 'UNAUTHENTICATE'): Grammar =>
  (_cursor, tag) => ({ tag, name });

const oneMailbox =
  (name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'): Grammar =>
  (cursor, tag) => {
    cursor.sp();
    return { tag, name, mailbox: parseMailbox(cursor) };
  };

// RFC 4466 §2.2: create = "CREATE" SP mailbox [create-params]; create-params = SP "(" create-param *(SP create-param) ")"
// RFC 6154 §6: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"
const create: Grammar = (cursor, tag) => {
  cursor.sp();
  const mailbox = parseMailbox(cursor);
  const use: string[] = [];
  if (cursor.accept(0x20)) {
    cursor.expect(0x28, '"("');
    do {
      if (!cursor.word('USE')) cursor.fail('Unsupported CREATE parameter');
      cursor.sp();
      cursor.expect(0x28, '"("');
      while (!cursor.accept(0x29)) {
        if (use.length > 0) cursor.sp();
        const attribute = parseFlag(cursor);
        if (!attribute.startsWith('\\')) cursor.fail('A special-use attribute starts with \\');
        use.push(attribute);
      }
    } while (cursor.accept(0x20));
    cursor.expect(0x29, '")"');
  }
  return { tag, name: 'CREATE', mailbox, use };
};

// select = "SELECT" SP mailbox [select-params]; RFC 7162 §3.2: select-param = "CONDSTORE";
// RFC 7162 §7: select-param =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
const selectLike =
  (name: 'SELECT' | 'EXAMINE'): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    const mailbox = parseMailbox(cursor);
    let condstore = false;
    let qresync: QresyncParameter | null = null;
    if (cursor.accept(0x20)) {
      cursor.expect(0x28, '"("');
      do {
        const param = cursor.keyword('a SELECT parameter');
        if (param === 'CONDSTORE') condstore = true;
        else if (param === 'QRESYNC') qresync = parseQresync(cursor, options);
        else cursor.fail(`Unsupported SELECT parameter ${param.slice(0, 40)}`);
      } while (cursor.accept(0x20));
      cursor.expect(0x29, '")"');
    }
    return { tag, name, mailbox, condstore, qresync };
  };

function parseQresync(cursor: Cursor, options: ParserOptions): QresyncParameter {
  cursor.sp();
  cursor.expect(0x28, '"("');
  const uidValidity = cursor.nzNumber('a UIDVALIDITY');
  cursor.sp();
  const modSeq = cursor.modSequence(false);
  let knownUids: SequenceSet | null = null;
  if (cursor.accept(0x20)) {
    if (cursor.peek() !== 0x28) {
      knownUids = parseSequenceSetToken(cursor, { ...sequenceLimits(options), allowSaved: false });
      cursor.accept(0x20);
    }
    // seq-match-data = "(" known-sequence-set SP known-uid-set ")": a hint we do not need (§3.2.5.2).
    if (cursor.accept(0x28)) {
      parseSequenceSetToken(cursor, { ...sequenceLimits(options), allowSaved: false });
      cursor.sp();
      parseSequenceSetToken(cursor, { ...sequenceLimits(options), allowSaved: false });
      cursor.expect(0x29, '")"');
    }
  }
  cursor.expect(0x29, '")"');
  return { uidValidity, modSeq, knownUids };
}

// RFC 3501 §9 status-att; RFC 7162 HIGHESTMODSEQ; RFC 8438 SIZE; RFC 7889 APPENDLIMIT; RFC 9051 DELETED;
// RFC 9208 §4.1.4 DELETED-STORAGE; RFC 8474 §4.2 MAILBOXID
function parseStatusItems(cursor: Cursor): StatusItem[] {
  cursor.expect(0x28, '"("');
  const items: StatusItem[] = [];
  do {
    const item = cursor.keyword('a STATUS item') as StatusItem;
    if (!statusItems.has(item)) cursor.fail(`Unknown STATUS item ${item.slice(0, 40)}`);
    items.push(item);
  } while (cursor.accept(0x20));
  cursor.expect(0x29, '")"');
  return items;
}

// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]  (RFC 5258 §6)
const list: Grammar = (cursor, tag) => {
  cursor.sp();
  const selectOptions: string[] = [];
  if (cursor.accept(0x28)) {
    while (!cursor.accept(0x29)) {
      if (selectOptions.length > 0) cursor.sp();
      const option = cursor.keyword('a LIST selection option');
      if (!listSelectOptions.has(option)) cursor.fail(`Unsupported LIST selection option ${option.slice(0, 40)}`);
      selectOptions.push(option);
    }
    cursor.sp();
  }
  const reference = parseMailbox(cursor);
  cursor.sp();
  const patterns: string[] = [];
  if (cursor.accept(0x28)) {
    do patterns.push(parseListMailbox(cursor));
    while (cursor.accept(0x20));
    cursor.expect(0x29, '")"');
  } else {
    patterns.push(parseListMailbox(cursor));
  }
  const returnOptions = { subscribed: false, children: false, specialUse: false, status: null as StatusItem[] | null };
  if (cursor.accept(0x20)) {
    if (!cursor.word('RETURN')) cursor.fail('Expected RETURN');
    cursor.sp();
    cursor.expect(0x28, '"("');
    while (!cursor.accept(0x29)) {
      if (returnOptions.subscribed || returnOptions.children || returnOptions.specialUse || returnOptions.status) cursor.sp();
      const option = cursor.keyword('a LIST return option');
      if (option === 'SUBSCRIBED') returnOptions.subscribed = true;
      else if (option === 'CHILDREN') returnOptions.children = true;
      else if (option === 'SPECIAL-USE') returnOptions.specialUse = true;
      else if (option === 'STATUS') {
        cursor.sp();
        returnOptions.status = parseStatusItems(cursor);
      } else cursor.fail(`Unsupported LIST return option ${option.slice(0, 40)}`);
    }
  }
  return { tag, name: 'LIST', selectOptions, reference, patterns, returnOptions: returnOptions satisfies ListReturnOptions };
};

// The grammars transcribe their ABNF rule line by line, so rules of one shape (`NAME SP a SP b`:
// LSUB, LOGIN, RENAME, STATUS) read alike on purpose; each is checked against the rule above it.
// lsub = "LSUB" SP mailbox SP list-mailbox
const lsub: Grammar = (cursor, tag) => {
  cursor.sp();
  const reference = parseMailbox(cursor);
  cursor.sp();
  return { tag, name: 'LSUB', reference, pattern: parseListMailbox(cursor) };
};

// RFC 3502 §6: append = "APPEND" SP mailbox 1*append-message
//   append-message = append-opts SP append-data; append-opts = [SP flag-list] [SP date-time]
// (RFC 3501's single message is the one-message case.) The wire reader's maxCommandOctets bounds
// what all the literals of one command hold together. RFC 3516 §5: append-data =/ literal8.
const append: Grammar = (cursor, tag) => {
  cursor.sp();
  const mailbox = parseMailbox(cursor);
  const messages: AppendMessage[] = [];
  do {
    cursor.sp();
    let flags: string[] = [];
    if (cursor.peek() === 0x28) {
      flags = parseFlagList(cursor);
      cursor.sp();
    }
    const date = cursor.peek() === 0x22 ? parseDateTime(cursor) : null;
    if (date) cursor.sp();
    // RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")"
    if (cursor.word('UTF8')) {
      cursor.sp();
      cursor.expect(0x28, '"("');
      const message = cursor.literal8();
      cursor.expect(0x29, '")"');
      messages.push({ flags, date, message, utf8: true });
      continue;
    }
    // RFC 3516 §4.4: the message may come as a literal8 ("~{n}"); what is in it is judged by APPEND.
    cursor.accept(0x7e);
    if (cursor.peek() !== 0x7b) cursor.fail('APPEND needs the message as a literal');
    messages.push({ flags, date, message: cursor.stringBytes(), utf8: false });
  } while (!cursor.atEnd());
  return { tag, name: 'APPEND', mailbox, messages };
};

// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]   (RFC 4959 SASL-IR)
const authenticate: Grammar = (cursor, tag) => {
  cursor.sp();
  const mechanism = cursor.keyword('a SASL mechanism');
  let initialResponse: string | null = null;
  if (cursor.accept(0x20)) {
    initialResponse = cursor.takeWhile((b) => b !== 0x20);
    if (initialResponse !== '=' && !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(initialResponse)) {
      cursor.fail('Invalid base64 initial response');
    }
  }
  return { tag, name: 'AUTHENTICATE', mechanism, initialResponse };
};

// login = "LOGIN" SP userid SP password
const login: Grammar = (cursor, tag) => {
  cursor.sp();
  const username = cursor.astring('a user name');
  cursor.sp();
  return { tag, name: 'LOGIN', username, password: cursor.astring('a password') };
};

// Alike LSUB and LOGIN on purpose: each grammar transcribes its own ABNF rule (see LSUB).
// rename = "RENAME" SP mailbox SP mailbox
const rename: Grammar = (cursor, tag) => {
  cursor.sp();
  const mailbox = parseMailbox(cursor);
  cursor.sp();
  return { tag, name: 'RENAME', mailbox, newName: parseMailbox(cursor) };
};

// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
const status: Grammar = (cursor, tag) => {
  cursor.sp();
  const mailbox = parseMailbox(cursor);
  cursor.sp();
  return { tag, name: 'STATUS', mailbox, items: parseStatusItems(cursor) };
};

// RFC 5161 §4: enable = "ENABLE" 1*(SP capability)
const enable: Grammar = (cursor, tag) => {
  const capabilities: string[] = [];
  do {
    cursor.sp();
    capabilities.push(cursor.keyword('a capability'));
  } while (!cursor.atEnd());
  return { tag, name: 'ENABLE', capabilities };
};

// RFC 2971 §4: id = "ID" SP id-params-list; id-params-list = "(" #(string SP nstring) ")" / nil
const id: Grammar = (cursor, tag) => {
  cursor.sp();
  if (!cursor.accept(0x28)) {
    if (cursor.keyword('a parameter list or NIL') !== 'NIL') cursor.fail('Expected a parameter list or NIL');
    return { tag, name: 'ID', parameters: null };
  }
  const parameters: Array<[string, string | null]> = [];
  while (!cursor.accept(0x29)) {
    if (parameters.length > 0) cursor.sp();
    // RFC 2971 §3.3: at most 30 pairs, names up to 30 octets, values up to 1024.
    if (parameters.length >= 30) cursor.fail('Too many ID parameters');
    const field = cursor.string();
    cursor.sp();
    const value = cursor.nstring();
    if (field.length > 30 || (value?.length ?? 0) > 1024) cursor.fail('ID parameter too long');
    parameters.push([field, value]);
  }
  return { tag, name: 'ID', parameters };
};

// RFC 9208 §7: getquota = "GETQUOTA" SP quota-root-name; getquotaroot = "GETQUOTAROOT" SP mailbox
// setquota = "SETQUOTA" SP quota-root-name SP setquota-list
// setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"; setquota-resource = resource-name SP resource-limit
const getQuota: Grammar = (cursor, tag) => {
  cursor.sp();
  return { tag, name: 'GETQUOTA', root: cursor.astring('a quota root') };
};
const getQuotaRoot: Grammar = (cursor, tag) => {
  cursor.sp();
  return { tag, name: 'GETQUOTAROOT', mailbox: parseMailbox(cursor) };
};
const setQuota: Grammar = (cursor, tag) => {
  cursor.sp();
  const root = cursor.astring('a quota root');
  cursor.sp();
  cursor.expect(0x28, '"("');
  let any = false;
  while (!cursor.accept(0x29)) {
    if (any) cursor.sp();
    cursor.keyword('a resource name');
    cursor.sp();
    cursor.modSequence(true);
    any = true;
  }
  return { tag, name: 'SETQUOTA', root };
};

// RFC 4978 §5: compress = "COMPRESS" SP algorithm; algorithm = "DEFLATE" (any atom is parsed, the handler judges)
const compress: Grammar = (cursor, tag) => {
  cursor.sp();
  return { tag, name: 'COMPRESS', mechanism: cursor.keyword('a compression mechanism') };
};

const expunge: Grammar = (_cursor, tag) => ({ tag, name: 'EXPUNGE', uidSet: null });

// RFC 4731 §7: search = "SEARCH" [search-return-opts] SP search-program
// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
// An empty list means ALL (§3.1).
function parseSearchReturnOptions(cursor: Cursor): SearchReturnOptions | null {
  const beforeReturn = cursor.mark();
  if (!(cursor.accept(0x20) && cursor.word('RETURN'))) {
    cursor.restore(beforeReturn);
    return null;
  }
  cursor.sp();
  cursor.expect(0x28, '"("');
  const options = { min: false, max: false, all: false, count: false, save: false };
  let any = false;
  while (!cursor.accept(0x29)) {
    if (any) cursor.sp();
    const option = cursor.keyword('a SEARCH return option');
    if (option === 'MIN') options.min = true;
    else if (option === 'MAX') options.max = true;
    else if (option === 'ALL') options.all = true;
    else if (option === 'COUNT') options.count = true;
    else if (option === 'SAVE') options.save = true;
    else cursor.fail(`Unsupported SEARCH return option ${option.slice(0, 40)}`);
    any = true;
  }
  if (!any) options.all = true;
  return options;
}

// search = "SEARCH" [search-return-opts] [SP "CHARSET" SP astring] 1*(SP search-key)
const search =
  (uid: boolean): Grammar =>
  (cursor, tag, options) => {
    const returnOptions = parseSearchReturnOptions(cursor);
    let charset: string | null = null;
    const beforeCharset = cursor.mark();
    if (cursor.accept(0x20) && cursor.word('CHARSET')) {
      cursor.sp();
      charset = cursor.astring('a charset').toUpperCase();
    } else {
      cursor.restore(beforeCharset);
    }
    return { tag, name: 'SEARCH', uid, charset, criteria: parseSearchCriteria(cursor, { maxDepth: options.maxDepth, sequence: sequenceLimits(options) }), returnOptions };
  };

const sortKeys = new Set<SortKey>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

// RFC 5256 §5: sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
// sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"; sort-criterion = ["REVERSE" SP] sort-key
// search-criteria = charset 1*(SP search-key)
const sort =
  (uid: boolean): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    cursor.expect(0x28, '"("');
    const sortCriteria: SortCriterion[] = [];
    do {
      let key = cursor.keyword('a sort key');
      const reverse = key === 'REVERSE';
      if (reverse) {
        cursor.sp();
        key = cursor.keyword('a sort key');
      }
      if (!sortKeys.has(key as SortKey)) cursor.fail(`Unknown sort key ${key.slice(0, 40)}`);
      sortCriteria.push({ key: key as SortKey, reverse });
    } while (cursor.accept(0x20));
    cursor.expect(0x29, '")"');
    cursor.sp();
    const charset = cursor.astring('a charset').toUpperCase();
    return { tag, name: 'SORT', uid, sortCriteria, charset, criteria: parseSearchCriteria(cursor, { maxDepth: options.maxDepth, sequence: sequenceLimits(options) }) };
  };

// RFC 5256 §5: thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
const thread =
  (uid: boolean): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    const name = cursor.keyword('a threading algorithm');
    if (name !== 'ORDEREDSUBJECT' && name !== 'REFERENCES') cursor.fail(`Unsupported threading algorithm ${name.slice(0, 40)}`);
    const algorithm: 'ORDEREDSUBJECT' | 'REFERENCES' = name === 'REFERENCES' ? 'REFERENCES' : 'ORDEREDSUBJECT';
    cursor.sp();
    const charset = cursor.astring('a charset').toUpperCase();
    return { tag, name: 'THREAD', uid, algorithm, charset, criteria: parseSearchCriteria(cursor, { maxDepth: options.maxDepth, sequence: sequenceLimits(options) }) };
  };

// fetch = "FETCH" SP sequence-set SP (macro / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
const fetch =
  (uid: boolean): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    const sequence = parseSequenceSetToken(cursor, sequenceLimits(options));
    cursor.sp();
    const attributes = parseFetchAttributes(cursor);
    let changedSince: bigint | null = null;
    let vanished = false;
    // RFC 7162 §3.1.4.1: fetch-modifier = "CHANGEDSINCE" SP mod-sequence-valzer; §3.2.6: =/ "VANISHED"
    if (cursor.accept(0x20)) {
      cursor.expect(0x28, '"("');
      do {
        const modifier = cursor.keyword('a FETCH modifier');
        if (modifier === 'CHANGEDSINCE' && changedSince === null) {
          cursor.sp();
          changedSince = cursor.modSequence(true);
        } else if (modifier === 'VANISHED' && !vanished) vanished = true;
        else cursor.fail('Unsupported FETCH modifier');
      } while (cursor.accept(0x20));
      cursor.expect(0x29, '")"');
      // §3.2.6: VANISHED only with CHANGEDSINCE, and only in UID FETCH.
      if (vanished && (changedSince === null || !uid)) cursor.fail('VANISHED needs UID FETCH with CHANGEDSINCE');
    }
    return { tag, name: 'FETCH', uid, sequence, attributes, changedSince, vanished };
  };

// store = "STORE" SP sequence-set [SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"] SP store-att-flags
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
const store =
  (uid: boolean): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    const sequence = parseSequenceSetToken(cursor, sequenceLimits(options));
    cursor.sp();
    let unchangedSince: bigint | null = null;
    if (cursor.accept(0x28)) {
      if (!cursor.word('UNCHANGEDSINCE')) cursor.fail('Unsupported STORE modifier');
      cursor.sp();
      unchangedSince = cursor.modSequence(true);
      cursor.expect(0x29, '")"');
      cursor.sp();
    }
    const action = cursor.accept(0x2b) ? 'add' : cursor.accept(0x2d) ? 'remove' : 'replace';
    const item = cursor.keyword('FLAGS or FLAGS.SILENT');
    if (item !== 'FLAGS' && item !== 'FLAGS.SILENT') cursor.fail('Expected FLAGS or FLAGS.SILENT');
    cursor.sp();
    let flags: string[];
    if (cursor.peek() === 0x28) flags = parseFlagList(cursor);
    else {
      flags = [parseFlag(cursor)];
      while (cursor.accept(0x20)) flags.push(parseFlag(cursor));
    }
    return { tag, name: 'STORE', uid, sequence, action, silent: item === 'FLAGS.SILENT', flags, unchangedSince };
  };

// copy = "COPY" SP sequence-set SP mailbox; RFC 6851 move = "MOVE" SP sequence-set SP mailbox
const copyLike =
  (name: 'COPY' | 'MOVE', uid: boolean): Grammar =>
  (cursor, tag, options) => {
    cursor.sp();
    const sequence = parseSequenceSetToken(cursor, sequenceLimits(options));
    cursor.sp();
    return { tag, name, uid, sequence, mailbox: parseMailbox(cursor) };
  };

// RFC 4315 §4: uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
const uidExpunge: Grammar = (cursor, tag, options) => {
  cursor.sp();
  return { tag, name: 'EXPUNGE', uidSet: parseSequenceSetToken(cursor, sequenceLimits(options)) };
};

/** Command name → its grammar. */
const commandGrammars: Record<string, Grammar> = {
  CAPABILITY: bare('CAPABILITY'),
  NOOP: bare('NOOP'),
  LOGOUT: bare('LOGOUT'),
  STARTTLS: bare('STARTTLS'),
  CHECK: bare('CHECK'),
  CLOSE: bare('CLOSE'),
  UNSELECT: bare('UNSELECT'),
  IDLE: bare('IDLE'),
  NAMESPACE: bare('NAMESPACE'),
  UNAUTHENTICATE: bare('UNAUTHENTICATE'),
  AUTHENTICATE: authenticate,
  LOGIN: login,
  SELECT: selectLike('SELECT'),
  EXAMINE: selectLike('EXAMINE'),
  CREATE: create,
  DELETE: oneMailbox('DELETE'),
  SUBSCRIBE: oneMailbox('SUBSCRIBE'),
  UNSUBSCRIBE: oneMailbox('UNSUBSCRIBE'),
  RENAME: rename,
  LIST: list,
  LSUB: lsub,
  STATUS: status,
  APPEND: append,
  ENABLE: enable,
  ID: id,
  COMPRESS: compress,
  EXPUNGE: expunge,
  GETQUOTA: getQuota,
  GETQUOTAROOT: getQuotaRoot,
  SETQUOTA: setQuota,
  SEARCH: search(false),
  SORT: sort(false),
  THREAD: thread(false),
  FETCH: fetch(false),
  STORE: store(false),
  COPY: copyLike('COPY', false),
  MOVE: copyLike('MOVE', false),
};

/** After "UID SP": RFC 3501 §6.4.8, RFC 4315, RFC 6851. */
const uidGrammars: Record<string, Grammar> = {
  SEARCH: search(true),
  SORT: sort(true),
  THREAD: thread(true),
  FETCH: fetch(true),
  STORE: store(true),
  COPY: copyLike('COPY', true),
  MOVE: copyLike('MOVE', true),
  EXPUNGE: uidExpunge,
};

/** Parses a command framed by ImapCommandReader. Throws only ParseError. */
export function parseCommand(chunks: readonly CommandChunk[], options: ParserOptions): ImapCommand {
  const first = chunks[0];
  const tag = first?.kind === 'line' ? readTag(first.bytes) : null;
  const cursor = new Cursor(chunks, tag);
  if (tag === null) {
    cursor.takeWhile((b) => b !== 0x20);
    if (!cursor.accept(0x20)) throw new ParseError(null, 'Missing command');
    throw new ParseError(null, 'Invalid tag');
  }
  cursor.takeWhile((b) => b !== 0x20);
  cursor.sp();
  let name = cursor.keyword('a command');
  let grammars = commandGrammars;
  if (name === 'UID') {
    cursor.sp();
    name = cursor.keyword('a UID command');
    grammars = uidGrammars;
  }
  const grammar = Object.hasOwn(grammars, name) ? grammars[name] : undefined;
  if (!grammar) return cursor.fail(`Unknown command ${name.slice(0, 40)}`);
  try {
    const command = grammar(cursor, tag, options);
    cursor.end();
    return command;
  } catch (error) {
    if (error instanceof ParseError) throw error;
    // A grammar bug must still become a BAD, never a crashed session.
    if (error instanceof RangeError) throw new ParseError(tag, 'Command too complex');
    throw new ParseError(tag, 'Invalid command');
  }
}
