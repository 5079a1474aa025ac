// IMAP SEARCH on a mailbox of 10,000 messages, every RFC 3501 §6.4.4 key asked by a real
// client (Python imaplib) and each answer compared with a model computed here from the seeded data.
// State keys (flags, sizes, internal dates, sequence and UID sets) are checked over all 10,000;
// header/body keys read a blob per undecided message, so they run on a UID range (see HEADER_RANGE).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexMessage } from '../../../core/mime/index.ts';
import type { MessageIndex } from '../../../core/mime/types.ts';
import { ALICE, runPython, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { seedMailbox } from './helpers/seed.ts';

/** Seeded items; those isExpunged picks are then expunged, leaving 10,000 whose UIDs and MSNs differ. */
const SEEDED = 10_040;
const isExpunged = (i: number) => i % 251 === 100;
const LIVE = 10_000;
/**
 * Header and body keys read the header block (one ranged GET) or the whole message of every message
 * the state cannot decide: over all 10,000 that is 10,000 S3 reads, far past this file's time budget
 * on the emulators (1.3 to 1.7 ms per message here: UID 1:2000 took 2.7 s per query), so they are
 * asked on UIDs 1:300 (300 blob reads per query, 12 of them unique letters, the rest the shared ones)
 * and, in one query, on the top 200 UIDs as well.
 */
const HEADER_RANGE = 300;
/** Every 25th message has a blob of its own; the others share SHARED letters (SEARCH only reads undecided ones). */
const SAMPLE_EVERY = 25;
const SHARED = 30;

// ---- the seeded letters ----------------------------------------------------------------------

interface Letter {
  readonly key: string;
  readonly raw: Buffer;
  readonly index: MessageIndex;
  /** Top-level header fields: lowercased name, unfolded, RFC 2047-decoded value. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** What the body says once decoded (text parts, HTML text). */
  readonly body: string;
  /** Header fields of body parts: TEXT covers them (RFC 3501 "header or body"), BODY looks at text. */
  readonly partHeaders: ReadonlyArray<readonly [string, string]>;
  /** The Date: header's calendar day as written, YYYY-MM-DD (RFC 3501: time and zone disregarded). */
  readonly sentDay: string;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ymd = (d: Date) => d.toISOString().slice(0, 10);
/** YYYY-MM-DD → IMAP date (RFC 3501 date: d-Mon-yyyy). */
const imapDate = (day: string) => `${Number(day.slice(8, 10))}-${months[Number(day.slice(5, 7)) - 1]}-${day.slice(0, 4)}`;

const senders = [
  ['Dana Scully <dana@one.test>', 'Dana Scully <dana@one.test>'],
  ['Eve Polastri <eve@two.test>', 'Eve Polastri <eve@two.test>'],
  [`=?utf-8?B?${b64('Jürgen Groß')}?= <juergen@drei.test>`, 'Jürgen Groß <juergen@drei.test>'],
  ['fox@mulder.test', 'fox@mulder.test'],
  [`"O'Brien, Pat" <pat@four.test>`, `"O'Brien, Pat" <pat@four.test>`],
] as const;

function letter(k: number): Letter {
  const [fromRaw, from] = senders[k % senders.length]!;
  const headers: Array<[string, string]> = [];
  const lines: string[] = [];
  const field = (name: string, raw: string, decoded = raw) => {
    lines.push(`${name}: ${raw}`);
    headers.push([name.toLowerCase(), decoded]);
  };
  field('From', fromRaw, from);
  field('To', k % 4 === 1 ? 'Alice <alice@example.test>, bob@example.test' : 'Alice <alice@example.test>');
  if (k % 3 === 0) field('Cc', 'Carol <carol@remote.test>');
  if (k % 5 === 0) field('Bcc', 'archive@secret.test');
  const subjects: Array<[string, string]> = [
    [`=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= #${k}`, `Grüße aus München #${k}`],
    [`Quarterly report ${k}`, `Quarterly report ${k}`],
    [`Re: Quarterly report ${k - 1}`, `Re: Quarterly report ${k - 1}`],
    // Folded (RFC 5322 §2.2.3): the search sees the unfolded value.
    [`Budget planning for the\r\n next quarter (${k})`, `Budget planning for the next quarter (${k})`],
    ['lunch?', 'lunch?'],
    [`[list-${k % 4}] weekly digest`, `[list-${k % 4}] weekly digest`],
  ];
  const [subjectRaw, subject] = subjects[k % subjects.length]!;
  field('Subject', subjectRaw, subject);
  // Sent dates written in zones far from UTC, so the day as written differs from the UTC day.
  const written = new Date(Date.UTC(2025, 11, 1) + ((k * 13) % 90) * 86_400_000);
  const hour = (k * 5) % 24;
  const zone = ['+0000', '-0800', '+0930', '+1400', '-1100'][k % 5]!;
  const date = `${weekdays[written.getUTCDay()]}, ${written.getUTCDate()} ${months[written.getUTCMonth()]} ${written.getUTCFullYear()} ${String(hour).padStart(2, '0')}:17:00 ${zone}`;
  field('Date', date);
  field('Message-ID', `<letter-${k}@remote.test>`);
  if (k % 4 === 3) field('X-Mailing-List', `list-${k % 3}@lists.test`);
  field('MIME-Version', '1.0');

  const point = k % 7 === 0 ? 'there is a needle in this haystack' : 'just haystack';
  const filler = 'lorem ipsum dolor '.repeat(((k * 53) % 6000) / 18).replace(/(.{60})/g, '$1\r\n');
  let body: string;
  let content: string;
  const partHeaders: Array<[string, string]> = [];
  switch (k % 4) {
    case 0:
      field('Content-Type', 'text/plain; charset=us-ascii');
      body = `Hello,\r\n${point}\r\n${filler}\r\n`;
      content = body;
      break;
    case 1:
      field('Content-Type', 'text/plain; charset=utf-8');
      field('Content-Transfer-Encoding', 'quoted-printable');
      body = `Grüße aus München,\r\n${point}\r\n${filler}\r\n`;
      content = `Gr=C3=BC=C3=9Fe aus M=C3=BCnchen,\r\n${point}\r\n${filler}\r\n`;
      break;
    case 2:
      field('Content-Type', 'multipart/alternative; boundary="alt-b"');
      body = `Hello,\r\n${point}\r\n${filler}\r\n <p>${point}</p>`;
      content = `--alt-b\r\nContent-Type: text/plain\r\n\r\nHello,\r\n${point}\r\n${filler}\r\n--alt-b\r\nContent-Type: text/html\r\n\r\n<html><body><p>${point}</p></body></html>\r\n--alt-b--\r\n`;
      partHeaders.push(['content-type', 'text/plain'], ['content-type', 'text/html']);
      break;
    default:
      field('Content-Type', 'multipart/mixed; boundary="mix-b"');
      body = `Hello,\r\n${point}\r\n`;
      content = `--mix-b\r\nContent-Type: text/plain\r\n\r\nHello,\r\n${point}\r\n--mix-b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="report-${k}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(`binary ${filler}`).replace(/(.{76})/g, '$1\r\n')}\r\n--mix-b--\r\n`;
      partHeaders.push(['content-type', 'text/plain'], ['content-type', 'application/octet-stream'], ['content-disposition', `attachment; filename="report-${k}.bin"`], ['content-transfer-encoding', 'base64']);
  }
  const raw = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${content}`);
  return { key: `raw/seed/letter-${k}.eml`, raw, index: indexMessage(raw), headers, body, partHeaders, sentDay: ymd(written) };
}

// ---- the seeded messages -----------------------------------------------------------------------

interface Message {
  readonly i: number;
  readonly uid: number;
  msn: number;
  readonly flags: readonly string[];
  readonly internalDate: string;
  readonly letter: Letter;
}

const letterCache = new Map<number, Letter>();
const letterOf = (i: number) => {
  // Unique letters are numbered consecutively (1000, 1001, ...) so they cycle through every variant.
  const k = i % SAMPLE_EVERY === 0 ? 1000 + i / SAMPLE_EVERY : (i * 7) % SHARED;
  let l = letterCache.get(k);
  if (!l) letterCache.set(k, (l = letter(k)));
  return l;
};

function flagsOf(i: number): string[] {
  const flags: string[] = [];
  if (i % 3 !== 0) flags.push('\\Seen');
  if (i % 7 === 0) flags.push('\\Flagged');
  if (i % 11 === 0) flags.push('\\Deleted');
  if (i % 5 === 0) flags.push('\\Answered');
  if (i % 13 === 0) flags.push('\\Draft');
  if (i % 17 === 0) flags.push('$Important');
  if (i % 4 === 1) flags.push('$Label1');
  if (i % 9 === 2) flags.push('Work');
  return flags;
}

/** Internal dates over five months, many exactly at 00:00:00 or 23:59:59 UTC so day boundaries are tested. */
function internalDateOf(i: number): string {
  const day = Date.UTC(2025, 9, 1) + ((i * 7919) % 150) * 86_400_000;
  const second = [0, 86_399, 43_200, (i * 3571) % 86_400][i % 4]!;
  return new Date(day + second * 1000).toISOString();
}

const messages: Message[] = Array.from({ length: SEEDED }, (_, i) => ({ i, uid: i + 1, msn: 0, flags: flagsOf(i), internalDate: internalDateOf(i), letter: letterOf(i) }));
const live = messages.filter((m) => !isExpunged(m.i));
live.forEach((m, k) => (m.msn = k + 1));
const maxUid = live[live.length - 1]!.uid;

// ---- the model (RFC 3501 §6.4.4) -------------------------------------------------------------

const has = (m: Message, flag: string) => m.flags.includes(flag);
const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase());
const header = (m: Message, name: string, needle: string) => m.letter.headers.some(([n, v]) => n === name.toLowerCase() && contains(v, needle));
const body = (m: Message, needle: string) => contains(m.letter.body, needle);
const text = (m: Message, needle: string) =>
  [...m.letter.headers, ...m.letter.partHeaders].some(([n, v]) => contains(`${n}: ${v}`, needle)) || body(m, needle);
const internalDay = (m: Message) => m.internalDate.slice(0, 10);
const size = (m: Message) => m.letter.raw.length;
const inHeaderRange = (m: Message) => m.uid <= HEADER_RANGE;
/** sequence-set membership; `*` is `top` (RFC 3501 §9 seq-range: either order). */
function inSet(set: string, n: number, top: number): boolean {
  return set.split(',').some((part) => {
    const [a, b = a] = part.split(':').map((x) => (x === '*' ? top : Number(x)));
    return n >= Math.min(a!, b!) && n <= Math.max(a!, b!);
  });
}
const inMsnSet = (set: string) => (m: Message) => inSet(set, m.msn, LIVE);
const inUidSet = (set: string) => (m: Message) => inSet(set, m.uid, maxUid);

// ---- asking through imaplib ------------------------------------------------------------------

interface Query {
  readonly criteria: string;
  readonly model: (m: Message) => boolean;
  /** UID SEARCH (answers UIDs) rather than SEARCH (answers sequence numbers). */
  readonly uid?: boolean;
  readonly charset?: string;
  /** Sent as a synchronising literal after the criteria (imaplib's `literal`), e.g. a UTF-8 string. */
  readonly literal?: string;
  /** The model may match nothing or everything (otherwise a query that cannot fail is refused). */
  readonly trivial?: boolean;
  /** The tagged answer expected instead of OK with its text, e.g. /^NO \[BADCHARSET/. */
  readonly refused?: RegExp;
}

const client = String.raw`
import imaplib, json, os, time
job = json.loads(os.environ['SEARCH_JOB'])
M = imaplib.IMAP4('127.0.0.1', job['port'])
M.login(job['user'], job['password'])
typ, data = M.select('TenK', readonly=True)
out = {'exists': int(data[0]), 'answers': []}
for q in job['queries']:
    if q.get('literal') is not None:
        M.literal = q['literal'].encode('utf-8')
    started = time.monotonic()
    try:
        if q['uid']:
            typ, data = M.uid('SEARCH', ('CHARSET %s ' % q['charset'] if q.get('charset') else '') + q['criteria'])
        else:
            typ, data = M.search(q.get('charset'), q['criteria'])
        if typ == 'OK':
            answer = {'status': typ, 'numbers': [int(n) for n in b' '.join(d for d in data if d).split()]}
        else:
            answer = {'status': '%s %s' % (typ, b' '.join(d for d in data if d).decode()), 'numbers': []}
    except Exception as e:
        answer = {'status': 'ERROR %s' % e, 'numbers': []}
    answer['ms'] = round((time.monotonic() - started) * 1000)
    out['answers'].append(answer)
M.logout()
print(json.dumps(out))
`;

describe(`IMAP SEARCH on ${LIVE} messages`, () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
    const mailbox = await w.store.mailStore.createMailbox(ALICE.user, 'TenK');
    const doomed = letter(99_999);
    // A few puts at a time: hundreds at once can keep a loaded machine's emulator from accepting
    // connections within the SDK's connect timeout.
    const letters = [...letterCache.values(), doomed];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let l = letters.pop(); l; l = letters.pop()) await w.blobs.put(l.key, l.raw);
    }));
    await seedMailbox(w.world.clients.doc, w.world.config.resources.tables, mailbox, SEEDED, (i) => {
      // Expunged messages get a blob of their own: expunge releases its blob reference.
      const l = isExpunged(i) ? doomed : messages[i]!.letter;
      return { blobKey: l.key, size: l.raw.length, index: l.index, flags: [...messages[i]!.flags], internalDate: messages[i]!.internalDate };
    });
    const gone = messages.filter((m) => isExpunged(m.i)).map((m) => m.uid);
    assert.deepEqual(await w.store.mailStore.expunge(ALICE.user, mailbox.id, gone), gone);
    // As if an earlier session had selected the mailbox: no later session gets \Recent messages,
    // so every check() session answers RECENT/NEW/OLD alike (RFC 3501 §2.3.2).
    const seeded = (await w.store.mailStore.getMailboxById(ALICE.user, mailbox.id))!;
    await w.store.mailStore.claimRecent(ALICE.user, mailbox.id, seeded.uidNext);
  });
  after(() => w?.close());

  /** Runs the queries in one imaplib session and compares each answer with its model. */
  async function check(t: { diagnostic(message: string): void }, queries: readonly Query[]): Promise<Record<string, number>> {
    w.world.counter.counts.clear();
    const job = { port: w.port, user: ALICE.user, password: ALICE.password, queries: queries.map((q) => ({ ...q, uid: q.uid ?? false, model: undefined })) };
    // A bound against a hung session, not a speed target (the benchmarks measure speed): a body
    // query reads 300 blobs through the session's S3 read budget, seconds each on a loaded machine.
    const out = JSON.parse(await runPython(client, { SEARCH_JOB: JSON.stringify(job) }, 240_000)) as {
      exists: number;
      answers: Array<{ status: string; numbers: number[]; ms: number }>;
    };
    const counts = w.world.counter.snapshot();
    assert.equal(out.exists, LIVE);
    queries.forEach((q, k) => {
      const answer = out.answers[k]!;
      const label = `${q.uid ? 'UID ' : ''}SEARCH ${q.charset ? `CHARSET ${q.charset} ` : ''}${q.criteria}${q.literal !== undefined ? ` {${q.literal}}` : ''}`;
      if (q.refused) {
        assert.match(answer.status, q.refused, label);
        return;
      }
      const want = live.filter(q.model).map((m) => (q.uid ? m.uid : m.msn));
      if (!q.trivial) assert.ok(want.length > 0 && want.length < live.length, `${label}: the model matches ${want.length} of ${live.length}, so the query proves little`);
      assert.equal(answer.status, 'OK', label);
      assert.equal(answer.numbers.length, want.length, `${label}: ${answer.numbers.length} numbers, model ${want.length}`);
      assert.deepEqual(answer.numbers, want, label);
      t.diagnostic(`${label}: ${want.length} hits, ${answer.ms} ms`);
    });
    return counts;
  }

  test('flag keys, NEW/OLD/RECENT, KEYWORD, NOT, OR and nesting over all 10,000, from the states alone', async (t) => {
    const counts = await check(t, [
      { criteria: 'ALL', model: () => true, trivial: true },
      { criteria: 'ANSWERED', model: (m) => has(m, '\\Answered') },
      { criteria: 'UNANSWERED', model: (m) => !has(m, '\\Answered') },
      { criteria: 'DELETED', model: (m) => has(m, '\\Deleted') },
      { criteria: 'UNDELETED', model: (m) => !has(m, '\\Deleted') },
      { criteria: 'DRAFT', model: (m) => has(m, '\\Draft') },
      { criteria: 'UNDRAFT', model: (m) => !has(m, '\\Draft') },
      { criteria: 'FLAGGED', model: (m) => has(m, '\\Flagged') },
      { criteria: 'UNFLAGGED', model: (m) => !has(m, '\\Flagged') },
      { criteria: 'SEEN', model: (m) => has(m, '\\Seen') },
      { criteria: 'UNSEEN', model: (m) => !has(m, '\\Seen'), uid: true },
      // An earlier session claimed every message (see before()): RECENT and NEW (= RECENT UNSEEN)
      // match nothing, OLD (= NOT RECENT) everything. test/mailbox-server/imap/recent.test.ts checks the claims.
      { criteria: 'RECENT', model: () => false, trivial: true },
      { criteria: 'NEW', model: () => false, trivial: true },
      { criteria: 'OLD', model: () => true, trivial: true },
      { criteria: 'KEYWORD $Important', model: (m) => has(m, '$Important') },
      { criteria: 'UNKEYWORD $Label1', model: (m) => !has(m, '$Label1'), uid: true },
      { criteria: 'KEYWORD Work FLAGGED', model: (m) => has(m, 'Work') && has(m, '\\Flagged') },
      { criteria: 'KEYWORD $Never', model: () => false, trivial: true },
      { criteria: 'NOT SEEN', model: (m) => !has(m, '\\Seen') },
      { criteria: 'NOT NOT DELETED', model: (m) => has(m, '\\Deleted') },
      { criteria: 'OR FLAGGED (DELETED UNSEEN)', model: (m) => has(m, '\\Flagged') || (has(m, '\\Deleted') && !has(m, '\\Seen')) },
      { criteria: 'NOT (OR ANSWERED DRAFT)', model: (m) => !has(m, '\\Answered') && !has(m, '\\Draft'), uid: true },
      { criteria: 'OR (OR FLAGGED DELETED) KEYWORD $Important', model: (m) => has(m, '\\Flagged') || has(m, '\\Deleted') || has(m, '$Important') },
      { criteria: '(SEEN (UNFLAGGED (NOT DRAFT (OR ANSWERED KEYWORD Work))))', model: (m) => has(m, '\\Seen') && !has(m, '\\Flagged') && !has(m, '\\Draft') && (has(m, '\\Answered') || has(m, 'Work')) },
      { criteria: 'OR NOT SEEN NOT OR ANSWERED FLAGGED', model: (m) => !has(m, '\\Seen') || !(has(m, '\\Answered') || has(m, '\\Flagged')) },
    ]);
    // Answered from the states SELECT read: no message item, no blob.
    assert.equal(counts['DynamoDB.BatchGetItem'] ?? 0, 0, JSON.stringify(counts));
    assert.equal(counts['S3.GetObject'] ?? 0, 0, JSON.stringify(counts));
  });

  test('sequence sets and UID sets (with *), sizes and internal dates over all 10,000', async (t) => {
    const sizes = [...new Set(live.map(size))].sort((a, b) => a - b);
    const median = sizes[sizes.length >> 1]!;
    const days = [...new Set(live.map(internalDay))].sort();
    const [firstDay, someDay, laterDay] = [days[0]!, days[40]!, days[95]!];
    const counts = await check(t, [
      { criteria: '1:10,9990:*', model: inMsnSet('1:10,9990:*') },
      { criteria: '*', model: (m) => m.msn === LIVE },
      { criteria: '*:9995', model: inMsnSet('9995:*') },
      { criteria: '5,3,1:2,7000', model: inMsnSet('1:3,5,7000') },
      { criteria: 'NOT 2:*', model: (m) => m.msn === 1 },
      { criteria: '2000:3000', model: inMsnSet('2000:3000'), uid: true },
      { criteria: 'UID 9000:*', model: inUidSet('9000:*'), uid: true },
      { criteria: 'UID 9000:*', model: inUidSet('9000:*') },
      { criteria: 'UID *', model: (m) => m.uid === maxUid, uid: true },
      // RFC 3501 §6.4.8: a range whose both ends are past the highest UID still includes it (n:* = *:n).
      { criteria: 'UID 20000:*', model: (m) => m.uid === maxUid, uid: true },
      // 101 and 352 were expunged: they are simply absent.
      { criteria: 'UID 95:105,350:355', model: inUidSet('95:105,350:355'), uid: true },
      { criteria: 'UID 2000:3000 2100:2200', model: (m) => inSet('2000:3000', m.uid, maxUid) && inSet('2100:2200', m.msn, LIVE), uid: true },
      { criteria: 'OR 1:100 UID 9950:*', model: (m) => m.msn <= 100 || m.uid >= 9950 },
      { criteria: `LARGER ${median}`, model: (m) => size(m) > median },
      { criteria: `SMALLER ${median}`, model: (m) => size(m) < median },
      { criteria: `NOT LARGER ${median} NOT SMALLER ${median}`, model: (m) => size(m) === median },
      { criteria: `LARGER ${sizes[3]} SMALLER ${sizes[sizes.length - 4]} FLAGGED`, model: (m) => size(m) > sizes[3]! && size(m) < sizes[sizes.length - 4]! && has(m, '\\Flagged') },
      { criteria: `BEFORE ${imapDate(someDay)}`, model: (m) => internalDay(m) < someDay },
      { criteria: `ON ${imapDate(someDay)}`, model: (m) => internalDay(m) === someDay },
      { criteria: `SINCE ${imapDate(someDay)}`, model: (m) => internalDay(m) >= someDay, uid: true },
      { criteria: `ON ${imapDate(firstDay)}`, model: (m) => internalDay(m) === firstDay },
      { criteria: `SINCE ${imapDate(someDay)} BEFORE ${imapDate(laterDay)} UNSEEN`, model: (m) => internalDay(m) >= someDay && internalDay(m) < laterDay && !has(m, '\\Seen') },
      { criteria: `OR ON ${imapDate(someDay)} ON ${imapDate(laterDay)}`, model: (m) => internalDay(m) === someDay || internalDay(m) === laterDay },
      { criteria: `NOT ON ${imapDate(laterDay)}`, model: (m) => internalDay(m) !== laterDay },
      { criteria: 'BEFORE 1-Jan-2026 SINCE 1-Dec-2025', model: (m) => internalDay(m) >= '2025-12-01' && internalDay(m) < '2026-01-01' },
      { criteria: 'SINCE 1-Jan-2030', model: () => false, trivial: true },
    ]);
    assert.equal(counts['DynamoDB.BatchGetItem'] ?? 0, 0, JSON.stringify(counts));
    assert.equal(counts['S3.GetObject'] ?? 0, 0, JSON.stringify(counts));
  });

  test('sent dates (the Date: header day as written, from the stored envelope), one query over all 10,000', async (t) => {
    const sent = (m: Message) => m.letter.sentDay;
    const range = `UID 1:${HEADER_RANGE}`;
    const r = (model: (m: Message) => boolean) => (m: Message) => inHeaderRange(m) && model(m);
    const sentDay = live[1]!.letter.sentDay;
    // Each undecided message costs its item (BatchGetItem of 50, ~3 s for 10,000 here): one query
    // covers the whole mailbox, the others a UID range.
    const counts = await check(t, [
      { criteria: 'OR SENTON 14-Dec-2025 (SENTSINCE 1-Feb-2026 FLAGGED)', model: (m) => sent(m) === '2025-12-14' || (sent(m) >= '2026-02-01' && has(m, '\\Flagged')) },
      { criteria: `${range} SENTBEFORE 20-Dec-2025`, model: r((m) => sent(m) < '2025-12-20'), uid: true },
      { criteria: `${range} NOT SENTSINCE 5-Dec-2025`, model: r((m) => sent(m) < '2025-12-05') },
      { criteria: `${range} SENTON ${imapDate(sentDay)}`, model: r((m) => sent(m) === sentDay) },
    ]);
    assert.equal(counts['S3.GetObject'] ?? 0, 0, `the sent date comes from the item's envelope, not the blob: ${JSON.stringify(counts)}`);
  });

  test(`header, body and text keys on UID 1:${HEADER_RANGE} (decoded, unfolded, case-insensitive substrings)`, async (t) => {
    const range = `UID 1:${HEADER_RANGE}`;
    const r = (model: (m: Message) => boolean) => (m: Message) => inHeaderRange(m) && model(m);
    const queries: Query[] = [
      { criteria: `${range} FROM dana`, model: r((m) => header(m, 'from', 'dana')), uid: true },
      { criteria: `FROM "Eve Polastri" ${range}`, model: r((m) => header(m, 'from', 'Eve Polastri')) },
      { criteria: `${range} FROM "o'brien, PAT"`, model: r((m) => header(m, 'from', "o'brien, pat")) },
      { criteria: `${range} TO bob@example.test`, model: r((m) => header(m, 'to', 'bob@example.test')), uid: true },
      { criteria: `${range} CC carol`, model: r((m) => header(m, 'cc', 'carol')) },
      { criteria: `${range} BCC archive@secret`, model: r((m) => header(m, 'bcc', 'archive@secret')) },
      { criteria: `${range} SUBJECT "quarterly REPORT 1"`, model: r((m) => header(m, 'subject', 'quarterly report 1')) },
      { criteria: `${range} SUBJECT "the next quarter"`, model: r((m) => header(m, 'subject', 'the next quarter')) },
      { criteria: `${range} SUBJECT "[list-3]"`, model: r((m) => header(m, 'subject', '[list-3]')), uid: true },
      { criteria: `${range} HEADER X-Mailing-List ""`, model: r((m) => m.letter.headers.some(([n]) => n === 'x-mailing-list')) },
      { criteria: `${range} HEADER x-mailing-list list-2@`, model: r((m) => header(m, 'x-mailing-list', 'list-2@')) },
      { criteria: `${range} HEADER Message-ID "<letter-1"`, model: r((m) => header(m, 'message-id', '<letter-1')) },
      { criteria: `${range} BODY needle`, model: r((m) => body(m, 'needle')), uid: true },
      { criteria: `${range} BODY report-3`, model: () => false, trivial: true },
      { criteria: `${range} TEXT report-3`, model: r((m) => text(m, 'report-3')) },
      { criteria: `${range} TEXT carol@remote`, model: r((m) => text(m, 'carol@remote')) },
      { criteria: `${range} TEXT NEEDLE`, model: r((m) => text(m, 'needle')) },
      { criteria: `${range} NOT FROM dana UNSEEN`, model: r((m) => !header(m, 'from', 'dana') && !has(m, '\\Seen')) },
      { criteria: `${range} OR SUBJECT lunch BODY needle`, model: r((m) => header(m, 'subject', 'lunch') || body(m, 'needle')), uid: true },
      { criteria: `OR (${range} FROM fox) (UID 9841:* SUBJECT digest)`, model: (m) => (inHeaderRange(m) && header(m, 'from', 'fox')) || (m.uid >= 9841 && header(m, 'subject', 'digest')) },
      { criteria: `${range} FLAGGED NOT (OR TO bob CC carol)`, model: r((m) => has(m, '\\Flagged') && !header(m, 'to', 'bob') && !header(m, 'cc', 'carol')) },
      { criteria: `${range} SENTON 14-Dec-2025 FROM eve`, model: r((m) => m.letter.sentDay === '2025-12-14' && header(m, 'from', 'eve')) },
    ];
    const counts = await check(t, queries);
    // Blob reads stay within the UID ranges asked (the state decides every other message).
    const reads = counts['S3.GetObject'] ?? 0;
    assert.ok(reads > 0 && reads <= queries.length * (HEADER_RANGE + 200), JSON.stringify(counts));
  });

  test('CHARSET UTF-8 with the string in a literal; US-ASCII; an unknown charset is NO [BADCHARSET]', async (t) => {
    const range = `UID 1:${HEADER_RANGE}`;
    const r = (model: (m: Message) => boolean) => (m: Message) => inHeaderRange(m) && model(m);
    await check(t, [
      // RFC 2047 encoded-word subject, matched case-insensitively beyond ASCII.
      { criteria: `${range} SUBJECT`, charset: 'UTF-8', literal: 'MÜNCHEN', model: r((m) => header(m, 'subject', 'münchen')) },
      { criteria: `${range} FROM`, charset: 'UTF-8', literal: 'jürgen groß', model: r((m) => header(m, 'from', 'jürgen groß')), uid: true },
      // Quoted-printable UTF-8 body text.
      { criteria: `${range} BODY`, charset: 'UTF-8', literal: 'Grüße aus', model: r((m) => body(m, 'grüße aus')) },
      { criteria: `${range} TEXT`, charset: 'UTF-8', literal: 'grüße', model: r((m) => text(m, 'grüße')) },
      { criteria: `${range} FROM dana`, charset: 'US-ASCII', model: r((m) => header(m, 'from', 'dana')) },
      { criteria: 'DRAFT', charset: 'utf-8', model: (m) => has(m, '\\Draft') },
      // RFC 3501 §6.4.4: a charset the server does not support is NO [BADCHARSET (supported)].
      { criteria: 'ALL', charset: 'KOI8-R', model: () => true, refused: /^NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/ },
    ]);
  });
});
