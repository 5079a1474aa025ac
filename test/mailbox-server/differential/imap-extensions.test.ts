// Differential test of the IMAP extensions that search, sort, thread, list and count (ESEARCH,
// SEARCHRES, WITHIN, SORT, THREAD, LIST-EXTENDED, LIST-STATUS, STATUS=SIZE, QUOTA): the same
// folder of threaded messages APPENDed to Dovecot 2.3 and to our server, then each command's
// untagged answers compared line by line (tags made equal). Kept apart from imap.test.ts, which
// compares the MIME fixtures, so each file sets up only what it compares.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { appendViaImap, startDovecot, type Dovecot } from '../../helpers/dovecot.ts';
import { connectSocket, SocketReader } from '../../helpers/socket-reader.ts';
import { ALICE, startImapWorld, type ImapWorld } from '../imap/helpers/imap-world.ts';

/** Where we answer differently on purpose; each is applied by name where it is compared. */
const INTENDED_DIFFERENCES: string[] = [
  'LIST-EXTENDED: we always send \\HasChildren/\\HasNoChildren (RFC 5258 §4 lets a server send them unasked; RFC 3348 CHILDREN is advertised) and special-use attributes (RFC 6154 §2 "MAY" without the return option); Dovecot sends them only when asked; compared only when asked',
  'LIST entries in any order: RFC 3501 §7.2.2 fixes none; compared sorted (a STATUS stays with its LIST)',
  'CREATE (USE (\\Archive)): Dovecot 2.3 answers OK but its LIST does not show the use it was given; RFC 6154 §5.3 shows it, as we do (checked on ours alone)',
  'CREATE (USE (\\All)), (USE (\\Flagged)), or two uses: a mailbox here carries at most one special use of \\Sent \\Drafts \\Trash \\Junk \\Archive, so we answer NO [USEATTR] as RFC 6154 §3 allows; Dovecot stores any attribute',
  'QUOTA: the root is named "" here, "User quota" in the Dovecot set-up (RFC 9208 §3.2 leaves the name to the server); compared with the name made equal',
  'GETQUOTAROOT of a mailbox that does not exist: NO [NONEXISTENT] here, as every command naming a mailbox; Dovecot 2.3 answers with the account root',
  'THREAD with no match: RFC 5256 §5 thread-data = "THREAD" [SP 1*thread-list], so we send "* THREAD"; Dovecot adds a space; compared trimmed',
  'SORT (REVERSE ARRIVAL) is not compared: messages APPENDed within one second tie on ARRIVAL (INTERNALDATE has whole seconds) and fall back to message order, and where the second boundaries fall differs between the two servers; test/mailbox-server/imap/sort-thread.test.ts checks it on set dates',
  'OBJECTID (RFC 8474) is not in Dovecot 2.3: the MAILBOXID of SELECT and CREATE is left out of the comparison (test/mailbox-server/imap/objectid.test.ts covers it)',
  'IMAP4rev2 (RFC 9051) is not in Dovecot 2.3 (its CAPABILITY names IMAP4rev1 only, and ENABLE IMAP4rev2 enables nothing): the rev2 answers are checked on ours alone (test/mailbox-server/imap/imap4rev2.test.ts), except that a rev2 session\'s plain SEARCH is compared with Dovecot\'s SEARCH RETURN (ALL), which RFC 9051 §6.4.4 makes the same',
  'RFC 3501 matters outside these extensions are left out of the comparison (see `common`): \\Recent in FLAGS, the untagged FLAGS/PERMANENTFLAGS Dovecot sends when a keyword is first named, and the [CLOSED] of QRESYNC on a second SELECT; imap.test.ts owns those',
];

const DOVECOT_USER = 'oracle@example.test';
const FOLDER = 'Threads';

interface Fixture {
  readonly from: string;
  readonly to?: string;
  readonly cc?: string;
  readonly subject?: string;
  readonly date?: string;
  readonly id: string;
  readonly inReplyTo?: string;
  readonly references?: string;
  readonly body?: string;
}

/** A folder with threads, subject prefixes of every kind RFC 5256 §2.1 strips, and odd headers. */
const FIXTURES: Fixture[] = [
  { from: 'Zed Zimmer <zed@z.test>', to: 'amy@a.test', subject: 'Project plan', date: 'Fri, 1 Mar 2024 10:00:00 +0000', id: 'a@x' },
  { from: 'Bob Brown <bob@b.test>', to: 'zed@z.test', cc: 'carol@c.test', subject: 'Re: Project plan', date: 'Sat, 2 Mar 2024 10:00:00 +0000', id: 'b@x', inReplyTo: '<a@x>', references: '<a@x>' },
  { from: 'amy@a.test', to: 'Bob <bob@b.test>', subject: 'RE: [dev] Re: Project plan (fwd)', date: 'Fri, 1 Mar 2024 09:00:00 -0500', id: 'c@x', references: '<a@x> <b@x>', body: 'a longer body\r\n'.repeat(20) },
  { from: 'Amy Adams <amy@a.test>', to: 'zed@z.test', subject: 'Lunch?', date: 'Wed, 28 Feb 2024 12:00:00 +0000', id: 'd@x' },
  { from: 'carol@c.test', to: 'amy@a.test', cc: 'Bob <bob@b.test>', subject: 'Fwd: lunch?', date: 'Sun, 3 Mar 2024 08:00:00 +0000', id: 'e@x' },
  { from: 'Dan <dan@d.test>', to: 'amy@a.test', subject: '=?utf-8?Q?Re=3A_caf=C3=A9?=', date: 'Sun, 3 Mar 2024 09:00:00 +0000', id: 'f@x' },
  { from: 'Zed Zimmer <zed@z.test>', to: 'list@l.test', subject: '[announce] Release 1.0', date: 'Mon, 4 Mar 2024 10:00:00 +0000', id: 'g@x', references: '<missing@x>' },
  { from: 'Bob Brown <bob@b.test>', to: 'list@l.test', subject: 'Re: Release 1.0', date: 'Mon, 4 Mar 2024 11:00:00 +0000', id: 'h@x', inReplyTo: '<missing@x>' },
  { from: 'nobody@n.test', id: 'i@x', body: 'no subject and no date\r\n' },
  { from: 'Eve <eve@e.test>', to: 'amy@a.test', subject: 'Re: re: Fw[x]: Project plan', date: 'Tue, 5 Mar 2024 10:00:00 +0000', id: 'j@x', references: '<c@x>' },
  { from: 'Eve <eve@e.test>', to: 'amy@a.test', subject: '[fwd: Project plan]', date: 'Tue, 5 Mar 2024 11:00:00 +0000', id: 'k@x' },
  { from: 'Bob Brown <bob@b.test>', to: 'amy@a.test', subject: 'Re: caf\u00e9', date: 'Tue, 5 Mar 2024 12:00:00 +0000', id: 'l@x', inReplyTo: '<f@x>' },
];

function raw(f: Fixture): Buffer {
  const headers = [
    `From: ${f.from}`,
    ...(f.to ? [`To: ${f.to}`] : []),
    ...(f.cc ? [`Cc: ${f.cc}`] : []),
    ...(f.subject !== undefined ? [`Subject: ${f.subject}`] : []),
    ...(f.date ? [`Date: ${f.date}`] : []),
    `Message-ID: <${f.id}>`,
    ...(f.inReplyTo ? [`In-Reply-To: ${f.inReplyTo}`] : []),
    ...(f.references ? [`References: ${f.references}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${f.body ?? `This is ${f.id}.\r\n`}`, 'utf8');
}

/** A line client: sends a command, returns its untagged lines and its status, the tag written as "T". */
class LineClient {
  private readonly reader: SocketReader;
  private tags = 0;

  private constructor(private readonly socket: Socket) {
    this.reader = new SocketReader(socket);
  }

  static async open(port: number, user: string, password: string): Promise<LineClient> {
    const client = new LineClient(await connectSocket(port));
    await client.line();
    await client.command(`LOGIN "${user}" "${password}"`);
    return client;
  }

  private async line(): Promise<string> {
    const line = await this.reader.line(15_000);
    if (line === null) throw new Error('connection closed');
    return line;
  }

  async command(command: string): Promise<{ untagged: string[]; status: string }> {
    const tag = `d${++this.tags}`;
    this.socket.write(`${tag} ${command}\r\n`);
    const untagged: string[] = [];
    for (;;) {
      let line = (await this.line()).replaceAll(`"${tag}"`, '"T"');
      // A literal without CRLF in it (the answers compared here) as the quoted string it stands for
      // (RFC 3501 §4.3: quoted or literal is the server's choice).
      for (let m = /\{(\d+)\}$/.exec(line); m; m = /\{(\d+)\}$/.exec(line)) {
        const rest = Buffer.from(await this.line(), 'utf8');
        line = `${line.slice(0, m.index)}"${rest.subarray(0, Number(m[1])).toString('utf8')}"${rest.subarray(Number(m[1])).toString('utf8')}`;
      }
      // Dovecot's [CLIENTBUG] hint (STATUS of the selected mailbox) is advice, not an answer.
      if (line.startsWith(`${tag} `)) return { untagged, status: line.slice(tag.length + 1).replace(/^(OK|NO|BAD)( \[[^\]]*\])?.*$/, '$1$2').replace(/ \[(CLIENTBUG|MAILBOXID \([\w-]+\))\]/, '') };
      untagged.push(line);
    }
  }

  async close(): Promise<void> {
    await this.command('LOGOUT').catch(() => undefined);
    this.socket.destroy();
  }
}

let dovecot: Dovecot;
let world: ImapWorld;
let theirs: LineClient;
let ours: LineClient;

/** Dovecot set up as our accounts are: "/" as delimiter, the special-use folders of a new account. */
const DOVECOT_CONFIG = `
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
mail_attribute_dict = file:%h/dovecot-attributes
mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = count:User quota
  quota_rule = *:storage=10M
  quota_vsizes = yes
}
`;

before(async () => {
  dovecot = await startDovecot({ users: { [DOVECOT_USER]: ALICE.password }, extraConfig: DOVECOT_CONFIG });
  world = await startImapWorld();
  [theirs, ours] = await Promise.all([LineClient.open(dovecot.ports.imap, DOVECOT_USER, ALICE.password), LineClient.open(world.port, ALICE.user, ALICE.password)]);
  for (const client of [theirs, ours]) await client.command(`CREATE ${FOLDER}`);
  const raws = FIXTURES.map(raw);
  await Promise.all([
    appendViaImap(dovecot.ports.imap, DOVECOT_USER, ALICE.password, raws, { mailbox: FOLDER }),
    appendViaImap(world.port, ALICE.user, ALICE.password, raws, { mailbox: FOLDER }),
  ]);
  for (const client of [theirs, ours]) {
    await client.command(`SELECT ${FOLDER}`);
    await client.command('STORE 2,5,9 +FLAGS.SILENT (\\Seen)');
    await client.command('STORE 3 +FLAGS.SILENT (\\Flagged)');
  }
});
after(async () => {
  await theirs?.close();
  await ours?.close();
  await dovecot?.stop();
  await world?.close();
});

/** Lines about matters outside this file (see INTENDED_DIFFERENCES) dropped, values that differ by server blanked. */
function common(line: string): string | null {
  if (/^\* (FLAGS |OK \[(PERMANENTFLAGS|CLOSED|MAILBOXID)\b)/.test(line)) return null;
  // A mailbox name as an atom or quoted (RFC 3501 §4.3, the server's choice); STATUS items in any order (§7.2.4).
  const status = /^\* STATUS (\S+|"[^"]*") \((.*)\)$/.exec(line);
  if (status) line = `* STATUS ${status[1]!.replace(/^"(.*)"$/, '$1')} (${status[2]!.split(/ (?=[A-Z])/).sort().join(' ')})`;
  line = line.replace(/^(\* LIST \([^)]*\) "\/" )([^"\s(]+)/, '$1"$2"');
  return line
    .replace(/ ?\\Recent/g, '')
    .replace(/\(\s/g, '(')
    .replace(/^\* OK \[(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ|UNSEEN|MAILBOXID)[^\]]*\].*$/, '* OK [$1]');
}

const specialUses = /\\(Sent|Drafts|Trash|Junk|Archive|All|Flagged)\b ?/g;

/**
 * LIST answers under the intended differences: \HasChildren/\HasNoChildren compared only when
 * RETURN (CHILDREN) asks for them, special-use attributes only when SPECIAL-USE does, the
 * extended-item tag as atom or string, and the entries (each with its STATUS) in any order.
 */
function listAnswer(command: string, lines: string[]): string[] {
  const groups: string[][] = [];
  for (let line of lines) {
    if (line.startsWith('* LIST ')) {
      if (!/RETURN \([^)]*CHILDREN/.test(command)) line = line.replace(/\\Has(No)?Children ?/g, '');
      if (!/SPECIAL-USE/.test(command)) line = line.replace(specialUses, '');
      line = line.replace(/ \)/, ')').replace(/\("CHILDINFO" /, '(CHILDINFO ');
      line = line.replace(/^\* LIST \(([^)]*)\)/, (_all, attrs: string) => `* LIST (${attrs.split(' ').filter(Boolean).sort().join(' ')})`);
      groups.push([line]);
    } else (groups.at(-1) ?? (groups.push([]), groups.at(-1)!)).push(line);
  }
  return groups.sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)).flat();
}

/** Runs each command on both servers in turn; returns the differences. */
async function compare(commands: readonly string[], normalise: (line: string) => string = (l) => l): Promise<string[]> {
  const failures: string[] = [];
  const clean = (lines: string[], command: string) => {
    const kept = lines.map(common).filter((l): l is string => l !== null).map(normalise);
    return command.startsWith('LIST ') ? listAnswer(command, kept) : kept;
  };
  for (const command of commands) {
    const [a, b] = [await theirs.command(command), await ours.command(command)];
    const oracle = [...clean(a.untagged, command), a.status];
    const mine = [...clean(b.untagged, command), b.status];
    if (JSON.stringify(oracle) !== JSON.stringify(mine)) failures.push(`${command}\n    dovecot: ${JSON.stringify(oracle)}\n    ours:    ${JSON.stringify(mine)}`);
  }
  return failures;
}

test('the intended differences are listed', (t) => {
  for (const difference of INTENDED_DIFFERENCES) t.diagnostic(`intended difference: ${difference}`);
});

test('ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN (RFC 5032) answer as Dovecot does', async () => {
  const failures = await compare([
    'SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN',
    'SEARCH RETURN () ALL',
    'UID SEARCH RETURN (ALL) SEEN',
    'UID SEARCH RETURN (COUNT) FROM bob',
    'SEARCH RETURN (MIN MAX) KEYWORD $Nothing',
    'SEARCH RETURN (COUNT) KEYWORD $Nothing',
    'SEARCH RETURN (SAVE) FROM amy',
    'FETCH $ (UID FLAGS)',
    'SEARCH $ FLAGGED',
    'UID SEARCH RETURN (ALL) NOT UID $',
    'SEARCH RETURN (SAVE MAX) SEEN',
    'FETCH $ (FLAGS)',
    'SEARCH RETURN (SAVE MIN ALL) UNSEEN',
    'FETCH $ (FLAGS)',
    'SEARCH RETURN (BOGUS) ALL',
    'SEARCH YOUNGER 3600',
    'SEARCH OLDER 3600',
    'SEARCH RETURN (COUNT) OR YOUNGER 60 SEEN',
    `SELECT ${FOLDER}`,
    'FETCH $ (FLAGS)',
  ]);
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
});

test('LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), STATUS=SIZE (RFC 8438), CREATE-SPECIAL-USE (RFC 6154) answer as Dovecot does', async () => {
  // The same hierarchy and subscriptions on both, set explicitly (CREATE's own subscription rule is
  // not what is compared here).
  for (const client of [theirs, ours]) {
    for (const name of ['Lists', 'Lists/Dev', 'Lists/Dev/Old', 'Lists/Ops', 'Lists/Ops/Pager']) await client.command(`CREATE ${name}`);
    for (const name of ['Lists', 'Lists/Dev', 'Lists/Dev/Old', 'Lists/Ops', 'Lists/Ops/Pager']) await client.command(`UNSUBSCRIBE ${name}`);
    for (const name of ['Lists/Dev/Old', 'Lists/Ops', 'INBOX', FOLDER]) await client.command(`SUBSCRIBE ${name}`);
  }
  const failures = await compare([
    'LIST (SUBSCRIBED) "" "Lists*"',
    'LIST (SUBSCRIBED) "" "Lists/%"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists/%"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists*"',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"',
    'LIST (RECURSIVEMATCH) "" "%"',
    'LIST (SPECIAL-USE) "" "*"',
    'LIST "" "*" RETURN (SPECIAL-USE)',
    'LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)',
    'LIST (REMOTE RECURSIVEMATCH) "" "%"',
    'LIST (REMOTE) "" "Lists/%"',
    'LIST "" ("Lists/Dev" "Lists/Ops/*") RETURN (SUBSCRIBED CHILDREN)',
    'LIST () "" "Lists/Dev%" RETURN ()',
    `LIST "" "${FOLDER}" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT SIZE))`,
    `LIST "" "Lists/Ops*" RETURN (STATUS (MESSAGES))`,
    `STATUS ${FOLDER} (MESSAGES SIZE UNSEEN)`,
    'CREATE Made/Archive (USE (\\Archive))',
    'CREATE Made/Plain (USE ())',
    'LIST "" "Made/Plain" RETURN (SPECIAL-USE)',
  ]);
  // RFC 6154 §5.3: the new mailbox carries the use (Dovecot 2.3 accepts it but does not list it).
  assert.deepEqual((await ours.command('LIST "" "Made/Archive" RETURN (SPECIAL-USE)')).untagged, ['* LIST (\\HasNoChildren \\Archive) "/" "Made/Archive"']);
  // Ours only (see INTENDED_DIFFERENCES): a use we cannot keep is NO [USEATTR] and creates nothing.
  for (const use of ['\\All', '\\Flagged', '\\Sent \\Drafts', '\\Important']) {
    assert.equal((await ours.command(`CREATE Made/Other (USE (${use}))`)).status, 'NO [USEATTR]', use);
  }
  assert.deepEqual((await ours.command('LIST "" "Made/Other"')).untagged, []);
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
});

test('QUOTA (RFC 9208) reports the same STORAGE usage and limit as Dovecot', async (t) => {
  await world.store.directory.setQuota(ALICE.user, 10 * 1024 * 1024);
  t.after(() => world.store.directory.setQuota(ALICE.user, null));
  const failures = await compare(
    [`GETQUOTAROOT ${FOLDER}`, 'GETQUOTAROOT INBOX'],
    // The root's name is the server's choice (RFC 9208 §3.2): Dovecot names it after its config.
    (line) => line.replace(/"User quota"/g, '""').replace(/^(\* QUOTAROOT )"?([^" ]+)"?/, '$1$2'),
  );
  // GETQUOTA names each server's own root.
  const [a, b] = [await theirs.command('GETQUOTA "User quota"'), await ours.command('GETQUOTA ""')];
  if (JSON.stringify(a.untagged.map((l) => l.replace('"User quota"', '""'))) !== JSON.stringify(b.untagged)) failures.push(`GETQUOTA: dovecot ${JSON.stringify(a.untagged)}, ours ${JSON.stringify(b.untagged)}`);
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
  // Ours only (see INTENDED_DIFFERENCES).
  assert.equal((await ours.command('GETQUOTAROOT Nowhere')).status, 'NO [NONEXISTENT]');
});

test('SORT and THREAD (RFC 5256) order and thread the fixture folder as Dovecot does', async () => {
  await Promise.all([theirs.command(`SELECT ${FOLDER}`), ours.command(`SELECT ${FOLDER}`)]);
  const failures = await compare([
    'SORT (SUBJECT) UTF-8 ALL',
    'SORT (REVERSE SUBJECT) UTF-8 ALL',
    'SORT (DATE) UTF-8 ALL',
    'SORT (REVERSE DATE) UTF-8 ALL',
    'SORT (ARRIVAL) UTF-8 ALL',
    'SORT (FROM) UTF-8 ALL',
    'SORT (TO) UTF-8 ALL',
    'SORT (CC DATE) UTF-8 ALL',
    'SORT (SIZE) UTF-8 ALL',
    'SORT (REVERSE SIZE) UTF-8 ALL',
    'SORT (DISPLAYFROM) UTF-8 ALL',
    'SORT (DISPLAYTO) UTF-8 ALL',
    'SORT (SUBJECT REVERSE DATE) UTF-8 UNSEEN',
    'UID SORT (FROM SUBJECT) UTF-8 NOT FROM amy',
    'SORT (BOGUS) UTF-8 ALL',
    'THREAD ORDEREDSUBJECT UTF-8 ALL',
    'THREAD REFERENCES UTF-8 ALL',
    'UID THREAD REFERENCES UTF-8 ALL',
    'THREAD REFERENCES UTF-8 NOT SUBJECT lunch',
    'THREAD REFERENCES UTF-8 2:12',
    'THREAD ORDEREDSUBJECT US-ASCII SEEN',
    'THREAD REFERENCES UTF-8 KEYWORD $Nothing',
    'THREAD BOGUS UTF-8 ALL',
  ], (line) => line.trimEnd());
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
});

test('SAVEDATE (RFC 8514) answers as Dovecot does', async () => {
  await Promise.all([theirs.command(`SELECT ${FOLDER}`), ours.command(`SELECT ${FOLDER}`)]);
  const d = new Date(Date.now() - 86_400_000);
  const yesterday = `${d.getUTCDate()}-${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}-${d.getUTCFullYear()}`;
  const failures = await compare(
    ['FETCH 1:3 (SAVEDATE)', `SEARCH SAVEDSINCE 1-Jan-2000`, `SEARCH SAVEDBEFORE 1-Jan-2000`, 'SEARCH SAVEDATESUPPORTED', 'SEARCH OR SAVEDBEFORE 1-Jan-2000 FLAGGED'],
    // The save instants differ by the moments each server was written to; their shape is compared.
    (line) => line.replace(/SAVEDATE "[^"]*"/, 'SAVEDATE "date-time"'),
  );
  // Days are UTC here and local time in Dovecot, so a date near now is checked on ours alone.
  assert.equal((await ours.command(`SEARCH SAVEDSINCE ${yesterday}`)).untagged[0], '* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12');
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
});

test('PREVIEW (RFC 8970) gives the same text as Dovecot', async () => {
  await Promise.all([theirs.command(`SELECT ${FOLDER}`), ours.command(`SELECT ${FOLDER}`)]);
  const failures = await compare(['FETCH 1:12 (PREVIEW)', 'FETCH 3 (PREVIEW (LAZY))', 'FETCH 1 (PREVIEW (BOGUS))']);
  assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
});

test('IMAP4rev2 (RFC 9051): not in Dovecot 2.3; a rev2 session\'s plain SEARCH answers as Dovecot answers RETURN (ALL)', async () => {
  const capabilities = (await theirs.command('CAPABILITY')).untagged.join(' ');
  assert.doesNotMatch(capabilities, /\bIMAP4rev2\b/i, 'Dovecot offers IMAP4rev2 now: compare the rev2 answers with it directly');
  // Dovecot 2.3 enables nothing and, having nothing to list, sends no ENABLED response.
  assert.deepEqual((await theirs.command('ENABLE IMAP4rev2')).untagged, []);
  const rev2 = await LineClient.open(world.port, ALICE.user, ALICE.password);
  try {
    assert.deepEqual((await rev2.command('ENABLE IMAP4rev2')).untagged, ['* ENABLED IMAP4rev2']);
    await Promise.all([theirs.command(`SELECT ${FOLDER}`), rev2.command(`SELECT ${FOLDER}`)]);
    const failures: string[] = [];
    for (const criteria of ['UNSEEN', 'FLAGGED', 'KEYWORD $Nothing', 'OR SEEN FLAGGED', 'SUBJECT lunch', '2:5 NOT SEEN', 'FROM bob']) {
      for (const uid of ['', 'UID ']) {
        const [a, b] = [await theirs.command(`${uid}SEARCH RETURN (ALL) ${criteria}`), await rev2.command(`${uid}SEARCH ${criteria}`)];
        const [oracle, mine] = [[...a.untagged, a.status], [...b.untagged, b.status]];
        if (JSON.stringify(oracle) !== JSON.stringify(mine)) failures.push(`${uid}SEARCH ${criteria}\n    dovecot: ${JSON.stringify(oracle)}\n    ours:    ${JSON.stringify(mine)}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} differences:\n${failures.join('\n')}`);
  } finally {
    await rev2.close();
  }
});
