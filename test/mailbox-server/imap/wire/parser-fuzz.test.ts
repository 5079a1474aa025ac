// Hostile input for the IMAP reader + parser. Every input ends in an AST or a ParseError, never
// another exception, never a hang (docs/ARCHITECTURE.md, Testing); and what parses means what it
// says: printed back in IMAP syntax (command-printer.ts) it parses to the same AST, and what is
// refused is a BAD addressed to the command's tag, or untagged when there is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImapCommandName } from '../../../../mailbox-server/imap/wire/ast.ts';
import { parseCommand } from '../../../../mailbox-server/imap/wire/parser.ts';
import { ParseError } from '../../../../mailbox-server/imap/wire/parse-error.ts';
import { ImapCommandReader, readTag, type CommandChunk } from '../../../../mailbox-server/imap/wire/reader.ts';
import { defaultImapWireLimits, type ImapWireLimits } from '../../../../mailbox-server/imap/wire/limits.ts';
import { printCommand } from './command-printer.ts';
import { seededRandom } from '../../../../core/seeded-random.ts';

const options = { maxDepth: 32, maxSequenceRanges: 1000, allowSavedResult: true };

/** Frames bytes as the session does; the `continue` events (send "+") need no answer here. */
function frame(bytes: Buffer, limits: ImapWireLimits = defaultImapWireLimits) {
  return new ImapCommandReader(limits).push(bytes).filter((e) => e.kind !== 'continue');
}

/**
 * Parses one framed command and checks what can be said of the outcome: an AST prints to a command
 * that parses to the same AST (and prints the same again); a ParseError is one BAD line for the
 * command's tag (RFC 3501 §7.1.3), untagged when the line has no valid tag.
 */
function parseAndCheck(chunks: readonly CommandChunk[]): 'parsed' | 'bad' {
  let command;
  try {
    command = parseCommand(chunks, options);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    const first = chunks[0];
    const tag = first?.kind === 'line' ? readTag(first.bytes) : null;
    assert.equal(error.tag, tag, 'the BAD goes to the tag the line carries');
    assert.ok(error.response.startsWith(`${tag ?? '*'} BAD `), error.response);
    assert.doesNotMatch(error.response, /[\r\n\0]/, 'the BAD is one line');
    return 'bad';
  }
  const printed = printCommand(command);
  const reframed = frame(printed);
  assert.equal(reframed.length, 1, `the printed command frames as one: ${printed.toString('latin1')}`);
  const event = reframed[0]!;
  assert.equal(event.kind, 'command', `the printed command is not refused at the wire: ${printed.toString('latin1')}`);
  let again;
  try {
    again = parseCommand((event as { chunks: readonly CommandChunk[] }).chunks, options);
  } catch (error) {
    assert.fail(`the printed command does not parse: ${printed.toString('latin1')}: ${String(error)}`);
  }
  assert.deepStrictEqual(again, command, `printed as ${JSON.stringify(printed.toString('latin1'))}`);
  assert.deepStrictEqual(printCommand(again), printed, 'printing is stable');
  return 'parsed';
}

/** Runs bytes through the reader and parser; returns how many commands parsed and how many were BAD. */
function feed(bytes: Buffer, limits = defaultImapWireLimits) {
  let parsed = 0;
  let rejected = 0;
  for (const event of frame(bytes, limits)) {
    if (event.kind !== 'command') rejected++;
    else if (parseAndCheck(event.chunks) === 'parsed') parsed++;
    else rejected++;
  }
  return { parsed, rejected };
}

test('10,000 nested parentheses are a BAD, not a stack overflow', () => {
  const deep = `a SEARCH ${'('.repeat(10_000)}ALL${')'.repeat(10_000)}\r\n`;
  assert.deepEqual(feed(Buffer.from(deep)), { parsed: 0, rejected: 1 });
  assert.deepEqual(feed(Buffer.from(`a SEARCH ${'NOT '.repeat(10_000)}ALL\r\n`)), { parsed: 0, rejected: 1 });
  assert.deepEqual(feed(Buffer.from(`a FETCH 1 ${'('.repeat(10_000)}\r\n`)), { parsed: 0, rejected: 1 });
});

test('unbalanced parentheses, NULs and a 1 MB line', () => {
  for (const line of ['a SEARCH (SEEN', 'a SEARCH SEEN))', 'a FETCH 1 (FLAGS', 'a STORE 1 FLAGS (\\Seen', 'a LIST ("" "*"', 'a LOGIN a\x00 b', 'a\x00 NOOP', '\x00\x00\x00']) {
    assert.deepEqual(feed(Buffer.from(`${line}\r\n`)), { parsed: 0, rejected: 1 }, JSON.stringify(line));
  }
  const huge = Buffer.concat([Buffer.from('a LOGIN '), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('\r\nb NOOP\r\n')]);
  assert.deepEqual(feed(huge), { parsed: 1, rejected: 1 });
});

test('a huge literal announced but never sent waits without buffering; too big is refused', () => {
  const reader = new ImapCommandReader(defaultImapWireLimits);
  assert.deepEqual(reader.push(Buffer.from('a APPEND INBOX {99999999999}\r\n')).map((e) => e.kind), ['reject']);
  assert.deepEqual(reader.push(Buffer.from('b NOOP\r\n')).map((e) => e.kind), ['command']);
});

/**
 * Valid commands of every command the parser knows, in the forms the grammar allows (literals,
 * quoted strings, macros, UID forms, extensions). Keyed by command name: a command added to the
 * AST without seeds here fails type-checking.
 */
const SEEDS: Record<ImapCommandName, readonly string[]> = {
  CAPABILITY: ['a1 CAPABILITY'],
  NOOP: ['a2 noop'],
  LOGOUT: ['a3 LOGOUT'],
  STARTTLS: ['a4 STARTTLS'],
  CHECK: ['a5 CHECK'],
  CLOSE: ['a6 CLOSE'],
  UNSELECT: ['a7 UNSELECT'],
  UNAUTHENTICATE: ['a8 UNAUTHENTICATE'],
  IDLE: ['a8 IDLE'],
  NAMESPACE: ['a9 NAMESPACE'],
  AUTHENTICATE: ['b1 AUTHENTICATE PLAIN', 'b2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==', 'b3 authenticate xoauth2 ='],
  LOGIN: ['c1 LOGIN alice secret', 'c2 LOGIN "al\\"ice" "p a\\\\ss"', 'c3 LOGIN {5}\r\nalice {6}\r\ns3cret', 'c4 LOGIN {5+}\r\nb\xc3\xb6b\r "x"'],
  SELECT: [
    'd1 SELECT inbox', 'd2 SELECT "Sent Items" (CONDSTORE)', 'd3 SELECT {4}\r\nDr&A', 'd6 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))',
    'd7 SELECT x (CONDSTORE QRESYNC (1 1 1:* (1:5 10,20:24)))', 'd8 SELECT y (QRESYNC (3 90060115205545359 (1 2)))',
  ],
  EXAMINE: ['d4 EXAMINE INBOX (condstore)', 'd5 EXAMINE Archive/2024', 'd9 EXAMINE INBOX (QRESYNC (4294967295 9223372036854775807))'],
  CREATE: ['e1 CREATE Projects', 'e2 CREATE "Junk" (USE (\\Junk))', 'e3 CREATE All (USE (\\All \\Archive))', 'e4 CREATE x (USE ())'],
  DELETE: ['e5 DELETE Projects'],
  SUBSCRIBE: ['e6 SUBSCRIBE "a b"'],
  UNSUBSCRIBE: ['e7 UNSUBSCRIBE {4}\r\na\r\nb'],
  RENAME: ['e8 RENAME INBOX Old', 'e9 RENAME "x" {1}\r\ny'],
  LIST: [
    'f1 LIST "" *', 'f2 LIST "" %', 'f3 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" Sent*) RETURN (CHILDREN)',
    'f4 LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN HIGHESTMODSEQ MAILBOXID))', 'f5 LIST () ~/ {2}\r\n%x RETURN ()',
  ],
  LSUB: ['f6 LSUB "" *', 'f7 LSUB Archive %/x'],
  STATUS: ['g1 STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)', 'g2 STATUS "a b" (SIZE APPENDLIMIT DELETED DELETED-STORAGE HIGHESTMODSEQ MAILBOXID)'],
  APPEND: [
    'h1 APPEND INBOX {11}\r\nHello world',
    'h2 APPEND Drafts (\\Draft \\Seen $Forwarded) " 7-Feb-1994 21:52:25 -0800" {23}\r\nSubject: hi\r\n\r\nbody\r\n.',
    'h3 APPEND "Sent" "29-Feb-2024 23:59:60 +1400" {0+}\r\n',
    'h4 APPEND INBOX () "01-Jan-1970 00:00:00 -0000" {3}\r\n\x00\xff\r',
    'h5 APPEND INBOX (\\Seen) ~{4}\r\n\x00\x01\x02\x03',
    // RFC 3502: MULTIAPPEND, each message with its own flags and date
    'h6 APPEND Sent (\\Seen) {5}\r\nfirst "01-Jan-2020 00:00:00 +0000" {6}\r\nsecond {0}\r\n',
    // RFC 6855 §4: UTF8 (literal8)
    'h7 APPEND INBOX UTF8 (~{9}\r\nSubject: ) {2}\r\nhi',
  ],
  ENABLE: ['i1 ENABLE CONDSTORE', 'i2 enable QRESYNC UTF8=ACCEPT X-UNKNOWN'],
  COMPRESS: ['i7 COMPRESS DEFLATE', 'i8 compress x-other'],
  ID: ['i3 ID NIL', 'i4 ID ("name" "Thunderbird" "version" NIL)', 'i5 ID ()', 'i6 ID ({4}\r\nname {3}\r\nx"y)'],
  EXPUNGE: ['j1 EXPUNGE', 'j2 UID EXPUNGE 1:3,5,7:*'],
  GETQUOTA: ['k1 GETQUOTA ""', 'k2 GETQUOTA "User quota"'],
  SETQUOTA: ['k3 SETQUOTA "" (STORAGE 512)', 'k4 SETQUOTA root ()'],
  GETQUOTAROOT: ['k5 GETQUOTAROOT INBOX'],
  SEARCH: [
    'l1 SEARCH ALL', 'l2 UID SEARCH UNSEEN SINCE 1-Feb-1994 NOT FROM "Smith"',
    'l3 SEARCH CHARSET UTF-8 OR (SUBJECT {4}\r\nd\xc3\xa9j BODY x) HEADER Message-ID "<a@b>" LARGER 100 SMALLER 4294967295',
    'l4 SEARCH RETURN (MIN MAX COUNT) 1:*,3 $ UID 2:4 KEYWORD $Junk UNKEYWORD foo NEW OLD RECENT',
    'l5 SEARCH RETURN () ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED',
    'l6 SEARCH RETURN (SAVE ALL) MODSEQ "/flags/\\\\draft" all 620162338 MODSEQ 0',
    'l7 SEARCH SENTBEFORE "1-Jan-2000" SENTON 31-Dec-1999 SENTSINCE 29-Feb-2000 BEFORE 1-Mar-2000 ON 2-MAR-2000',
    'l8 SEARCH SAVEDBEFORE 1-Jan-2026 SAVEDON 2-Jan-2026 SAVEDSINCE 3-Jan-2026 SAVEDATESUPPORTED OLDER 3600 YOUNGER 1',
    'l9 SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9 TEXT "" CC a BCC b TO c ((ALL) (NOT (OR SEEN 3)))',
  ],
  SORT: ['m1 SORT (DATE) UTF-8 ALL', 'm2 UID SORT (REVERSE ARRIVAL CC FROM SIZE SUBJECT TO DISPLAYFROM REVERSE DISPLAYTO) us-ascii UNDELETED SINCE 1-Feb-1994'],
  THREAD: ['m3 THREAD ORDEREDSUBJECT UTF-8 ALL', 'm4 UID THREAD REFERENCES "US-ASCII" OR FROM a TO b'],
  FETCH: [
    'n1 FETCH 1 FAST', 'n2 FETCH 1:* ALL', 'n3 UID FETCH 2,4:6 FULL', 'n4 FETCH $ FLAGS',
    'n5 FETCH 1 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ SAVEDATE EMAILID THREADID)',
    'n6 FETCH 1 (BODY[] BODY.PEEK[HEADER] BODY[TEXT]<0.100> BODY[1.2.MIME] BODY[2] BODY[1.HEADER.FIELDS (From "To")] BODY.PEEK[HEADER.FIELDS.NOT (X-A)]<10.1>)',
    'n7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)', 'n8 FETCH 1 (PREVIEW (LAZY) PREVIEW UID)', 'n9 FETCH 3 body.peek[1.2.3]',
    'n10 FETCH 1 (BINARY[] BINARY.PEEK[1.2]<0.512> BINARY.SIZE[3] BINARY.SIZE[])', 'n11 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)',
    'n12 UID FETCH 1 BINARY[1] (VANISHED CHANGEDSINCE 1)',
  ],
  STORE: [
    'o1 STORE 1 FLAGS (\\Seen)', 'o2 UID STORE 1:* +FLAGS.SILENT (\\Deleted $Junk)', 'o3 STORE 2 -FLAGS \\Flagged \\Answered',
    'o4 STORE 1,3 (UNCHANGEDSINCE 320162338) +FLAGS ()',
  ],
  COPY: ['p1 COPY 1:3 Archive', 'p2 UID COPY 4,5 "Sent Items"'],
  MOVE: ['p3 MOVE $ {5}\r\nTrash', 'p4 UID MOVE 1:* INBOX'],
};

const seedBytes = Object.values(SEEDS).flat().map((s) => Buffer.from(`${s}\r\n`, 'latin1'));

test('every seed is a valid command of its name, and prints back to itself', () => {
  for (const [name, lines] of Object.entries(SEEDS)) {
    for (const line of lines) {
      const events = frame(Buffer.from(`${line}\r\n`, 'latin1'));
      assert.equal(events.length, 1, line);
      const event = events[0]!;
      assert.equal(event.kind, 'command', line);
      if (event.kind !== 'command') continue;
      assert.equal(parseCommand(event.chunks, options).name, name, line);
      assert.equal(parseAndCheck(event.chunks), 'parsed', line);
    }
  }
});

/** Bytes the grammar cares about, for flips and insertions. */
const SPECIALS = [...' ()[]<>{}"\\*%$~+-.:,0123456789\r\n\x00\x7f', '\xff', '\xc3'].map((c) => c.charCodeAt(0));
/** Tokens that move the parser to other branches. */
const TOKENS = [
  'UID', 'FETCH', 'SEARCH', 'STORE', 'NOT', 'OR', 'CHARSET', 'NIL', 'INBOX', 'RETURN', 'MODSEQ', 'CHANGEDSINCE', 'BODY[', 'BODY.PEEK[',
  'HEADER.FIELDS', 'MIME', '<0.1>', '1:*', '$', '*', '"', '{3}', '{2+}', '~{1}', '\\Seen', '\\Recent', '1-Feb-1994', ' (', ')',
  'QRESYNC', 'VANISHED', 'BINARY[', 'BINARY.SIZE[', 'COMPRESS',
];
/** Numbers at and past the grammar's bounds: number, nz-number, mod-sequence, literal lengths. */
const HUGE = ['0', '00', '4294967295', '4294967296', '9223372036854775807', '9223372036854775808', '99999999999999999999999'];

type Mutation = (input: Buffer, random: () => number) => Buffer;
const pick = <T>(items: readonly T[], random: () => number) => items[Math.floor(random() * items.length)]!;
const at = (input: Buffer, random: () => number) => Math.floor(random() * (input.length + 1));
const splice = (input: Buffer, start: number, end: number, insert: Buffer | string) =>
  Buffer.concat([input.subarray(0, start), Buffer.isBuffer(insert) ? insert : Buffer.from(insert, 'latin1'), input.subarray(end)]);
/** Positions of every match of `pattern` in the latin1 text of `input`. */
const matches = (input: Buffer, pattern: RegExp) => [...input.toString('latin1').matchAll(pattern)];

const MUTATIONS: Record<string, Mutation> = {
  flipByte: (input, random) => {
    if (input.length === 0) return input;
    const out = Buffer.from(input);
    const i = Math.floor(random() * out.length);
    out[i] = random() < 0.5 ? pick(SPECIALS, random) : out[i]! ^ (1 << Math.floor(random() * 8));
    return out;
  },
  deleteBytes: (input, random) => {
    const start = at(input, random);
    return splice(input, start, start + 1 + Math.floor(random() * 4), '');
  },
  truncate: (input, random) => {
    const cut = input.subarray(0, at(input, random));
    return random() < 0.7 ? Buffer.concat([cut, Buffer.from('\r\n')]) : cut;
  },
  spliceSeeds: (input, random) => {
    const other = pick(seedBytes, random);
    return Buffer.concat([input.subarray(0, at(input, random)), other.subarray(at(other, random))]);
  },
  insertToken: (input, random) => {
    const spaces = matches(input, / /g);
    const i = spaces.length > 0 ? pick(spaces, random).index! + 1 : at(input, random);
    return splice(input, i, i, `${pick(TOKENS, random)}${random() < 0.5 ? ' ' : ''}`);
  },
  literalLength: (input, random) => {
    const literals = matches(input, /\{([0-9]+)(\+?)\}/g);
    if (literals.length === 0) return splice(input, input.length - 2, input.length - 2, ` {${Math.floor(random() * 5)}}\r\nab`);
    const m = pick(literals, random);
    const n = Number(m[1]);
    const wrong = pick([n - 1, n + 1, n + 3, 0, Number(pick(HUGE, random))], random);
    return splice(input, m.index!, m.index! + m[0].length, `{${wrong}${m[2]}}`);
  },
  deepNesting: (input, random) => {
    const spaces = matches(input, / /g);
    if (spaces.length < 2) return input;
    const depth = 28 + Math.floor(random() * 10);
    const ends = [pick(spaces, random).index!, pick(spaces, random).index!];
    const a = Math.min(...ends);
    const b = Math.max(...ends);
    const opened = splice(input, a + 1, a + 1, pick(['(', 'NOT ', '(NOT '], random).repeat(depth));
    const shift = opened.length - input.length;
    return b === a ? opened : splice(opened, b + shift, b + shift, ')'.repeat(depth));
  },
  hugeNumber: (input, random) => {
    const numbers = matches(input, /[0-9]+/g);
    if (numbers.length === 0) return input;
    const m = pick(numbers, random);
    return splice(input, m.index!, m.index! + m[0].length, pick(HUGE, random));
  },
};

/** The seed the run starts from: IMAP_FUZZ_SEED to replay or explore, a fixed one by default. */
const FUZZ_SEED = Number(process.env.IMAP_FUZZ_SEED ?? 20261205);
const FUZZ_CASES = 6000;

test(`seeded mutations of valid commands: an AST that prints back to itself, or a BAD (seed ${FUZZ_SEED})`, () => {
  const random = seededRandom(FUZZ_SEED);
  const names = Object.keys(MUTATIONS);
  const limits = { ...defaultImapWireLimits, maxLineOctets: 4096, maxLiteralOctets: 4096, maxCommandOctets: 16384 };
  const outcomes = { parsed: 0, rejected: 0 };
  const applied = new Set<string>();
  for (let n = 0; n < FUZZ_CASES; n++) {
    let input: Buffer = pick(seedBytes, random);
    const steps: string[] = [];
    // Mostly one mutation, so that many inputs stay near the grammar and parse.
    for (let k = pick([1, 1, 1, 1, 2, 2, 3], random); k > 0; k--) {
      const name = pick(names, random);
      steps.push(name);
      input = MUTATIONS[name]!(input, random);
    }
    steps.forEach((s) => applied.add(s));
    try {
      const { parsed, rejected } = feed(input, limits);
      outcomes.parsed += parsed;
      outcomes.rejected += rejected;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      assert.fail(`IMAP_FUZZ_SEED=${FUZZ_SEED}, case ${n} (${steps.join(', ')}): input ${JSON.stringify(input.toString('latin1'))}\n${reason}`);
    }
  }
  // The run covered both outcomes and every mutation, or it proves little.
  assert.deepEqual([...applied].sort(), [...names].sort());
  assert.ok(outcomes.parsed > FUZZ_CASES / 20 && outcomes.rejected > FUZZ_CASES / 5, JSON.stringify(outcomes));
});

test('seeded random bytes and random token soup: an AST that prints back to itself, or a BAD', () => {
  const random = seededRandom(FUZZ_SEED + 1);
  const next = () => Math.floor(random() * 0x7fffffff);
  const tokens = [
    'a', 'UID', 'FETCH', 'SEARCH', 'STORE', 'APPEND', 'LOGIN', 'LIST', 'SELECT', 'STATUS', 'ID', 'ENABLE', 'COPY', 'MOVE', 'EXPUNGE',
    'AUTHENTICATE', 'BODY[', 'BODY.PEEK[', ']', '<0.1>', '1:*', '$', '*', '0', '4294967296', '(', ')', '"', '\\', '{3}', '{2+}', '~{1}',
    'NOT', 'OR', 'HEADER', 'CHARSET', 'NIL', 'INBOX', '&AGE-', '+FLAGS', 'FLAGS.SILENT', '\\Seen', 'MODSEQ', 'CHANGEDSINCE', 'RETURN',
    '1-Feb-1994', '" 7-Feb-1994 21:52:25 -0800"', 'HEADER.FIELDS', 'MIME', 'TEXT', '.', ' ', ' ', ' ', '\r\n', '\x00', '\xff',
  ];
  const limits = { ...defaultImapWireLimits, maxLineOctets: 4096, maxLiteralOctets: 4096, maxCommandOctets: 16384 };
  for (let n = 0; n < 2000; n++) {
    const count = 1 + (next() % 25);
    let soup = 'a ';
    for (let k = 0; k < count; k++) soup += tokens[next() % tokens.length];
    const random = Buffer.alloc(next() % 300);
    for (let i = 0; i < random.length; i++) random[i] = next() & 0xff;
    for (const input of [Buffer.from(`${soup}\r\n`, 'latin1'), random]) {
      try {
        feed(input, limits);
      } catch (error) {
        assert.fail(`IMAP_FUZZ_SEED=${FUZZ_SEED}, case ${n}: input ${JSON.stringify(input.toString('latin1'))}\n${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
});
