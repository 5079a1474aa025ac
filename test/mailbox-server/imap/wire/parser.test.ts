// The IMAP command grammar (RFC 3501 §9 and extensions): client line → typed command, or BAD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../../../mailbox-server/imap/wire/parser.ts';
import type { ImapCommand } from '../../../../mailbox-server/imap/wire/ast.ts';
import { ParseError } from '../../../../mailbox-server/imap/wire/parse-error.ts';
import { ImapCommandReader } from '../../../../mailbox-server/imap/wire/reader.ts';
import { defaultImapWireLimits } from '../../../../mailbox-server/imap/wire/limits.ts';

const options = { maxDepth: 32, maxSequenceRanges: 100, allowSavedResult: false };

/** Frames client bytes as the session would (literals included) and parses the one command; loosely typed for assertions. */
function parse(wire: string | Buffer): any {
  const events = new ImapCommandReader(defaultImapWireLimits).push(Buffer.isBuffer(wire) ? wire : Buffer.from(wire.endsWith('\n') ? wire : `${wire}\r\n`));
  const command = events.find((e) => e.kind === 'command');
  assert.ok(command && command.kind === 'command', `no command framed from ${String(wire)}`);
  return parseCommand(command.chunks, options) as ImapCommand;
}

/** As the session parses once SEARCHRES is offered: "$" allowed. */
function parseWithSaved(wire: string): any {
  const events = new ImapCommandReader(defaultImapWireLimits).push(Buffer.from(`${wire}\r\n`));
  const command = events.find((e) => e.kind === 'command');
  assert.ok(command && command.kind === 'command');
  return parseCommand(command.chunks, { ...options, allowSavedResult: true });
}

function bad(wire: string, response?: RegExp) {
  try {
    parse(wire);
  } catch (error) {
    assert.ok(error instanceof ParseError, `${wire}: ${String(error)}`);
    if (response) assert.match(error.response, response);
    return error;
  }
  assert.fail(`expected BAD for ${wire}`);
}

test('commands without arguments, case-insensitive', () => {
  assert.deepEqual(parse('a001 capability'), { tag: 'a001', name: 'CAPABILITY' });
  assert.deepEqual(parse('A1 NOOP'), { tag: 'A1', name: 'NOOP' });
  assert.deepEqual(parse('x IDLE'), { tag: 'x', name: 'IDLE' });
  bad('A1 NOOP extra', /^A1 BAD Unexpected extra arguments$/);
});

test('LOGIN with atom, quoted (escapes) and literal arguments', () => {
  // RFC 3501 §6.2.3: C: a001 LOGIN SMITH SESAME
  assert.deepEqual(parse('a001 LOGIN SMITH SESAME'), { tag: 'a001', name: 'LOGIN', username: 'SMITH', password: 'SESAME' });
  assert.deepEqual(parse('a2 LOGIN "fred \\"the\\" \\\\ user" "pässword"').password, 'pässword');
  assert.equal((parse('a2 LOGIN "fred \\"the\\" \\\\ user" x') as { username: string }).username, 'fred "the" \\ user');
  assert.deepEqual(parse('a3 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n'), { tag: 'a3', name: 'LOGIN', username: 'fred', password: 'secret' });
  bad('a4 LOGIN "unterminated', /^a4 BAD Unterminated quoted string$/);
  bad('a5 LOGIN "bad \\escape" x', /Invalid escape/);
  bad('a6 LOGIN {3}\r\na\x00b x\r\n', /NUL/);
});

test('AUTHENTICATE with and without SASL-IR', () => {
  assert.deepEqual(parse('a AUTHENTICATE plain'), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null });
  assert.deepEqual(parse('a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0').initialResponse, 'AGZyZWQAc2VjcmV0');
  assert.deepEqual(parse('a AUTHENTICATE PLAIN =').initialResponse, '=');
  bad('a AUTHENTICATE PLAIN ab$c', /base64/);
});

test('mailbox commands; INBOX is case-insensitive', () => {
  assert.deepEqual(parse('A142 SELECT inbox'), { tag: 'A142', name: 'SELECT', mailbox: 'INBOX', condstore: false, qresync: null });
  assert.deepEqual(parse('A142 EXAMINE "blurdybloop" (CONDSTORE)'), { tag: 'A142', name: 'EXAMINE', mailbox: 'blurdybloop', condstore: true, qresync: null });
  // RFC 7162 §3.2.5.2 example: known-uids and seq-match-data (parsed, the latter not kept).
  assert.deepEqual(parse('A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41,43:211,214:541 (1:5 41,43:45)))').qresync, {
    uidValidity: 67890007,
    modSeq: 90060115194045000n,
    knownUids: { kind: 'ranges', ranges: [{ from: 41, to: 41 }, { from: 43, to: 211 }, { from: 214, to: 541 }] },
  });
  assert.deepEqual(parse('A02 SELECT INBOX (QRESYNC (67890007 20050715194045000))').qresync, { uidValidity: 67890007, modSeq: 20050715194045000n, knownUids: null });
  bad('A04 SELECT INBOX (QRESYNC (0 1))', /Expected/);
  bad('A05 SELECT INBOX (QRESYNC 1 2)', /Expected/);
  assert.deepEqual(parse('A003 CREATE owatagusiam/'), { tag: 'A003', name: 'CREATE', mailbox: 'owatagusiam/', use: [] });
  // RFC 6154 §5.2 example; an empty USE list is allowed by the grammar.
  assert.deepEqual(parse('t1 CREATE MySpecial (USE (\\Drafts \\Sent))').use, ['\\Drafts', '\\Sent']);
  assert.deepEqual(parse('t2 CREATE Other (USE ())').use, []);
  bad('t3 CREATE x (USE (Drafts))', /special-use/);
  bad('t4 CREATE x (BOGUS (\\Drafts))', /Unsupported CREATE parameter/);
  assert.deepEqual(parse('A683 RENAME blurdybloop sarasoop'), { tag: 'A683', name: 'RENAME', mailbox: 'blurdybloop', newName: 'sarasoop' });
  assert.deepEqual(parse('A002 SUBSCRIBE #news.comp.mail.mime').name, 'SUBSCRIBE');
  assert.deepEqual(parse('a DELETE &ZeVnLIqe-'), { tag: 'a', name: 'DELETE', mailbox: '&ZeVnLIqe-' });
  bad('a SELECT INBOX (FOO (1 2))', /Unsupported SELECT parameter/);
  bad('a CREATE', /Expected a space/);
});

test('LIST, LIST-EXTENDED and LSUB', () => {
  assert.deepEqual(parse('A101 LIST "" ""'), {
    tag: 'A101', name: 'LIST', selectOptions: [], reference: '', patterns: [''],
    returnOptions: { subscribed: false, children: false, specialUse: false, status: null },
  });
  const extended = parse('A02 LIST (SUBSCRIBED) "" ("*" %/x) RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))');
  assert.deepEqual(extended, {
    tag: 'A02', name: 'LIST', selectOptions: ['SUBSCRIBED'], reference: '', patterns: ['*', '%/x'],
    returnOptions: { subscribed: false, children: true, specialUse: true, status: ['MESSAGES', 'UNSEEN'] },
  });
  assert.deepEqual(parse('A002 LSUB "#news." "comp.mail.*"'), { tag: 'A002', name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' });
});

test('STATUS, ENABLE, ID', () => {
  assert.deepEqual(parse('A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)').items, ['UIDNEXT', 'MESSAGES', 'HIGHESTMODSEQ']);
  bad('A042 STATUS x (BOGUS)', /Unknown STATUS item/);
  assert.deepEqual(parse('t2 ENABLE CONDSTORE X-GOOD-IDEA'), { tag: 't2', name: 'ENABLE', capabilities: ['CONDSTORE', 'X-GOOD-IDEA'] });
  assert.deepEqual(parse('a023 ID ("name" "sodr" "version" NIL)').parameters, [['name', 'sodr'], ['version', null]]);
  assert.deepEqual(parse('a ID NIL').parameters, null);
});

test('APPEND with flags, date-time and literal (RFC 3501 §6.3.11)', () => {
  const message = 'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n';
  const command = parse(`A003 APPEND saved-messages (\\seen $Junk) " 7-Feb-1994 21:52:25 -0800" {${Buffer.byteLength(message)}}\r\n${message}\r\n`);
  assert.equal(command.name, 'APPEND');
  if (command.name !== 'APPEND') return;
  assert.equal(command.messages.length, 1);
  const [only] = command.messages;
  assert.deepEqual(only.flags, ['\\Seen', '$Junk']);
  assert.equal(only.date?.instant.toISOString(), '1994-02-08T05:52:25.000Z');
  assert.equal(only.date?.zoneMinutes, -480);
  assert.equal(only.message.toString(), message);
  assert.equal(parse('a APPEND INBOX {3+}\r\nabc\r\n').messages[0].message.toString(), 'abc');
  bad('a APPEND INBOX (\\Recent) {1+}\r\nx\r\n', /\\Recent/);
  bad('a APPEND INBOX "31-Feb-2020 00:00:00 +0000" {1+}\r\nx\r\n', /Invalid date-time/);
  bad('a APPEND INBOX "message as quoted"', /^a BAD /);
  bad('a APPEND INBOX abc', /literal/);
});

test('MULTIAPPEND: several append-messages in one command (RFC 3502 §6)', () => {
  const command = parse('a APPEND INBOX (\\Seen) {3+}\r\none (\\Draft) " 7-Feb-1994 21:52:25 -0800" {3+}\r\ntwo {5+}\r\nthree\r\n');
  assert.deepEqual(
    command.messages.map((m: { flags: string[]; date: unknown; message: Buffer }) => [m.flags, m.date !== null, m.message.toString()]),
    [[['\\Seen'], false, 'one'], [['\\Draft'], true, 'two'], [[], false, 'three']],
  );
  bad('a APPEND INBOX {3+}\r\none junk\r\n', /literal/);
  bad('a APPEND INBOX {3+}\r\none \r\n', /^a BAD /);
});

test('FETCH: macros, attributes, sections, partials, CHANGEDSINCE', () => {
  assert.deepEqual(parse('a FETCH 1:* FAST'), {
    tag: 'a', name: 'FETCH', uid: false, sequence: { kind: 'ranges', ranges: [{ from: 1, to: '*' }] },
    attributes: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }], changedSince: null, vanished: false,
  });
  assert.equal((parse('a fetch 1 full') as { attributes: unknown[] }).attributes.length, 5);
  // RFC 3501 §6.4.5: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
  const command = parse('A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)] body.peek[1.2.MIME] BODY[]<0.2048> BODY[3.TEXT] BODY[HEADER.FIELDS.NOT ("X-Spam")] RFC822.SIZE MODSEQ)');
  assert.deepEqual((command as { attributes: unknown[] }).attributes, [
    { kind: 'FLAGS' },
    { kind: 'BODY[]', peek: false, section: { part: [], text: { kind: 'HEADER.FIELDS', fields: ['DATE', 'FROM'], not: false } }, partial: null },
    { kind: 'BODY[]', peek: true, section: { part: [1, 2], text: { kind: 'MIME' } }, partial: null },
    { kind: 'BODY[]', peek: false, section: { part: [], text: null }, partial: { offset: 0, length: 2048 } },
    { kind: 'BODY[]', peek: false, section: { part: [3], text: { kind: 'TEXT' } }, partial: null },
    { kind: 'BODY[]', peek: false, section: { part: [], text: { kind: 'HEADER.FIELDS', fields: ['X-Spam'], not: true } }, partial: null },
    { kind: 'RFC822.SIZE' },
    { kind: 'MODSEQ' },
  ]);
  const uid = parse('s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)');
  assert.deepEqual([uid.name, (uid as { uid: boolean }).uid, (uid as { changedSince: bigint }).changedSince], ['FETCH', true, 12345n]);
  assert.equal((parse('a FETCH 4 BODYSTRUCTURE') as { attributes: Array<{ kind: string }> }).attributes[0]?.kind, 'BODYSTRUCTURE');
  bad('a FETCH 1 BODY[MIME]', /Invalid section/);
  bad('a FETCH 1 BODY[0]', /part number/);
  bad('a FETCH 1 BODY[1.]', /Invalid section/);
  bad('a FETCH 1 BODY[]<10.0>', /partial length/);
  bad('a FETCH 1 (FLAGS', /Expected/);
  // RFC 3516 §5: section-binary holds part numbers only.
  assert.deepEqual(parse('a FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.10> BINARY.SIZE[3])').attributes, [
    { kind: 'BINARY[]', peek: false, part: [1, 2], partial: null },
    { kind: 'BINARY[]', peek: true, part: [], partial: { offset: 0, length: 10 } },
    { kind: 'BINARY.SIZE', part: [3] },
  ]);
  // RFC 7162 §3.2.6: UID FETCH … (CHANGEDSINCE m VANISHED), in either order; VANISHED alone or without UID is BAD.
  assert.deepEqual(parse('s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)').vanished, true);
  assert.deepEqual(parse('s100 UID FETCH 300:500 (FLAGS) (VANISHED CHANGEDSINCE 12345)').changedSince, 12345n);
  bad('s101 UID FETCH 1:* (FLAGS) (VANISHED)', /VANISHED needs/);
  bad('s102 FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)', /VANISHED needs/);
  bad('a FETCH 1 BINARY[1.TEXT]', /part number/);
  bad('a FETCH 1 BINARY[HEADER]', /"\]"/);
  bad('a FETCH 1 BINARY[0]', /part number/);
  bad('a FETCH 1 BINARY.SIZE[1]<0.5>', /Unexpected/);
  bad('a FETCH 1 BINARY', /Unknown FETCH attribute/);
  bad('a FETCH 0 FLAGS', /Invalid number/);
  bad('a FETCH $ FLAGS', /SEARCHRES/);
});

test('STORE forms (RFC 3501 §6.4.6, RFC 7162 UNCHANGEDSINCE)', () => {
  assert.deepEqual(parse('A003 STORE 2:4 +FLAGS (\\Deleted)'), {
    tag: 'A003', name: 'STORE', uid: false, sequence: { kind: 'ranges', ranges: [{ from: 2, to: 4 }] },
    action: 'add', silent: false, flags: ['\\Deleted'], unchangedSince: null,
  });
  const silent = parse('d105 UID STORE 7,5,9 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT \\seen $Forwarded');
  assert.deepEqual(silent, {
    tag: 'd105', name: 'STORE', uid: true, sequence: { kind: 'ranges', ranges: [{ from: 7, to: 7 }, { from: 5, to: 5 }, { from: 9, to: 9 }] },
    action: 'remove', silent: true, flags: ['\\Seen', '$Forwarded'], unchangedSince: 320162338n,
  });
  assert.deepEqual((parse('a STORE 1 FLAGS ()') as { flags: string[] }).flags, []);
  bad('a STORE 1 LABELS (x)', /FLAGS/);
});

test('COPY, MOVE, EXPUNGE, UID EXPUNGE', () => {
  assert.deepEqual(parse('A003 COPY 2:4 MEETING'), { tag: 'A003', name: 'COPY', uid: false, sequence: { kind: 'ranges', ranges: [{ from: 2, to: 4 }] }, mailbox: 'MEETING' });
  assert.deepEqual(parse('a UID MOVE 42:69 foo').name, 'MOVE');
  assert.deepEqual(parse('A202 EXPUNGE'), { tag: 'A202', name: 'EXPUNGE', uidSet: null });
  assert.deepEqual(parse('A003 UID EXPUNGE 3000:3002'), { tag: 'A003', name: 'EXPUNGE', uidSet: { kind: 'ranges', ranges: [{ from: 3000, to: 3002 }] } });
  bad('a UID NOOP', /Unknown command NOOP/);
});

test('SEARCH RETURN options (RFC 4731 §3.1, RFC 5182 §2.4) and WITHIN keys (RFC 5032 §4)', () => {
  const min = parse('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
  assert.deepEqual(min.name === 'SEARCH' && min.returnOptions, { min: true, max: false, all: false, count: true, save: false });
  // RFC 4731 §3.1: "RETURN ()" is RETURN (ALL).
  const empty = parse('A283 UID SEARCH RETURN () CHARSET UTF-8 ALL');
  assert.deepEqual(empty.name === 'SEARCH' && [empty.returnOptions, empty.charset], [{ min: false, max: false, all: true, count: false, save: false }, 'UTF-8']);
  const save = parse('a SEARCH RETURN (SAVE) YOUNGER 3600 OLDER 60');
  assert.deepEqual(save.name === 'SEARCH' && [save.returnOptions?.save, save.criteria], [true, { kind: 'and', keys: [{ kind: 'within', op: 'younger', seconds: 3600 }, { kind: 'within', op: 'older', seconds: 60 }] }]);
  assert.deepEqual(parseWithSaved('a SEARCH $ SEEN').criteria.keys[0], { kind: 'sequence', set: { kind: 'saved' } });
  assert.deepEqual(parseWithSaved('a SEARCH UID $').criteria, { kind: 'uid', set: { kind: 'saved' } });
  bad('a SEARCH RETURN (PARTIAL 1:5) ALL', /Unsupported SEARCH return option/);
  bad('a SEARCH RETURN ALL', /Expected "\("/);
  bad('a SEARCH YOUNGER 0', /Expected a number of seconds/);
});

test('SORT and THREAD (RFC 5256 §5 grammar, RFC 5957 DISPLAYFROM)', () => {
  // RFC 5256 §6 example: C: A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
  assert.deepEqual(parse('A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL'), {
    tag: 'A283', name: 'SORT', uid: false, charset: 'UTF-8',
    sortCriteria: [{ key: 'SUBJECT', reverse: false }, { key: 'DATE', reverse: true }],
    criteria: { kind: 'all' },
  });
  const uidSort = parse('A285 UID SORT (DISPLAYFROM) US-ASCII SUBJECT "afternoon" SINCE 1-Feb-1994');
  assert.deepEqual([uidSort.uid, uidSort.sortCriteria, uidSort.criteria.keys.length], [true, [{ key: 'DISPLAYFROM', reverse: false }], 2]);
  assert.deepEqual(parse('A284 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000'), {
    tag: 'A284', name: 'THREAD', uid: false, algorithm: 'ORDEREDSUBJECT', charset: 'UTF-8',
    criteria: { kind: 'date', of: 'internal', op: 'since', date: { year: 2000, month: 3, day: 5 } },
  });
  assert.equal(parse('A285 UID THREAD REFERENCES US-ASCII TEXT "gewp"').algorithm, 'REFERENCES');
  bad('a SORT SUBJECT UTF-8 ALL', /Expected "\("/);
  bad('a SORT () UTF-8 ALL', /sort key/);
  bad('a SORT (REVERSE) UTF-8 ALL', /Expected a space/);
  bad('a SORT (ARRIVAL) ALL', /search key|Expected/);
  bad('a THREAD REFS UTF-8 ALL', /Unsupported threading algorithm/);
});

test('SEARCH keys (RFC 3501 §6.4.4 examples and every key)', () => {
  assert.deepEqual(parse('A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'), {
    tag: 'A282', name: 'SEARCH', uid: false, charset: null,
    criteria: { kind: 'and', keys: [
      { kind: 'flag', flag: '\\Flagged', present: true },
      { kind: 'date', of: 'internal', op: 'since', date: { year: 1994, month: 2, day: 1 } },
      { kind: 'not', key: { kind: 'header', field: 'From', value: 'Smith' } },
    ] },
    returnOptions: null,
  });
  const charset = parse('A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n');
  assert.deepEqual([(charset as { charset: string }).charset, (charset as { criteria: unknown }).criteria], ['UTF-8', { kind: 'text', value: 'XXXXXX' }]);
  const every = parse(
    'a UID SEARCH ALL ANSWERED BCC x BEFORE "2-Mar-2020" BODY y CC z DELETED DRAFT FLAGGED FROM f HEADER X-Foo bar ' +
      'KEYWORD $Junk LARGER 100 NEW OLD ON 29-Feb-2020 OR SEEN (UNSEEN RECENT) SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 ' +
      'SENTSINCE 1-Jan-2000 SMALLER 5 SUBJECT s TEXT t TO u UID 1:5 UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k 2,4:* MODSEQ 5 ' +
      'MODSEQ "/flags/\\\\draft" all 620162338',
  );
  assert.equal(every.name, 'SEARCH');
  if (every.name !== 'SEARCH' || every.criteria.kind !== 'and') return assert.fail();
  assert.equal(every.uid, true);
  assert.equal(every.criteria.keys.length, 33);
  assert.deepEqual(every.criteria.keys.at(-1), { kind: 'modseq', modseq: 620162338n, entry: { name: '/flags/\\draft', type: 'all' } });
  assert.deepEqual(every.criteria.keys[13], { kind: 'and', keys: [{ kind: 'flag', flag: '\\Recent', present: true }, { kind: 'flag', flag: '\\Seen', present: false }] });
  bad('a SEARCH', /Expected a space/);
  bad('a SEARCH BEFORE 30-Feb-2020', /Invalid date/);
  bad('a SEARCH KEYWORD \\Seen', /keyword/);
  bad('a SEARCH (SEEN', /Expected/);
  bad('a SEARCH SEEN)', /^a BAD Expected a space$/);
  bad('a SEARCH BOGUS', /Unknown search key/);
  bad('a SEARCH OR SEEN', /Expected a space/);
});

test('nesting and sequence ranges are capped', () => {
  bad(`a SEARCH ${'('.repeat(40)}ALL${')'.repeat(40)}`, /nested too deeply/);
  bad(`a SEARCH ${'NOT '.repeat(40)}ALL`, /nested too deeply/);
  bad(`a FETCH ${Array.from({ length: 101 }, (_, i) => i + 1).join(',')} FLAGS`, /Too many ranges/);
});

test('tag problems give an untagged BAD', () => {
  assert.equal(bad('+bad NOOP').response, '* BAD Invalid tag');
  assert.equal(bad('justatag').response, '* BAD Missing command');
  assert.equal(bad('a BOGUS').response, 'a BAD Unknown command BOGUS');
});
