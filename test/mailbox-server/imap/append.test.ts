// APPEND (RFC 3501 §6.3.11) with UIDPLUS APPENDUID (RFC 4315), LITERAL+ (RFC 7888) and TRYCREATE,
// and MULTIAPPEND (RFC 3502): all messages or none, through Python's imaplib with raw commands.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, runPython, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP APPEND and MULTIAPPEND', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)));

  test('APPEND with a synchronising literal, flags and date; LITERAL+; APPENDUID; TRYCREATE', async () => {
    const message = sampleMessage('appended');
    c.write(`a1 APPEND Drafts (\\Draft \\Seen) "14-Jul-2023 02:44:25 -0700" {${Buffer.byteLength(message)}}\r\n`);
    assert.equal(await c.line(), '+ Ready for literal data');
    c.write(`${message}\r\n`);
    const done = await c.until('a1');
    assert.match(done[0]!, /^a1 OK \[APPENDUID \d+ 1\] APPEND completed$/);
    const plus = await c.command(`APPEND Drafts {${Buffer.byteLength(message)}+}\r\n${message}`, 'a2');
    assert.match(plus[0]!, /^a2 OK \[APPENDUID \d+ 2\]/);
    assert.match((await c.command('APPEND Nowhere {3+}\r\nabc', 'a3'))[0]!, /^a3 NO \[TRYCREATE\]/);
    await c.command('EXAMINE Drafts', 'a4');
    const fetched = await c.command('FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])', 'a5');
    assert.equal(fetched[0], `* 1 FETCH (FLAGS (\\Draft \\Seen \\Recent) INTERNALDATE "14-Jul-2023 09:44:25 +0000" BODY[] {${Buffer.byteLength(message)}}\r\n${message})`);
  });

  test('imaplib: MULTIAPPEND files every message in order with one APPENDUID set; one bad message appends none', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'Multi');
    const out = await runPython(
      `
import imaplib, json, os
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
M.login(os.environ['USER'], os.environ['PASS'])
def raw(tag, line, literals):
    # LITERAL+ (RFC 7888): the literals follow their {n+} without waiting for a continuation.
    data = line.encode()
    for flags, body in literals:
        data += (' %s{%d+}\\r\\n' % (flags, len(body))).encode() + body
    M.send(tag.encode() + b' ' + data + b'\\r\\n')
    lines = []
    while True:
        got = M.readline().decode().rstrip('\\r\\n')
        lines.append(got)
        if got.startswith(tag + ' '):
            return lines
good = raw('m1', 'APPEND Multi', [('(\\\\Seen) ', b'Subject: one\\r\\n\\r\\n1\\r\\n'), ('', b'Subject: two\\r\\n\\r\\n2\\r\\n'), ('(\\\\Flagged $Three) "01-Feb-2024 10:00:00 +0000" ', b'Subject: three\\r\\n\\r\\n3\\r\\n')])
bad = raw('m2', 'APPEND Multi', [('', b'Subject: four\\r\\n\\r\\n4\\r\\n'), ('', b'Subject: five\\r\\n\\r\\n\\x00\\r\\n')])
typ, data = M.select('Multi')
typ, fetched = M.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
subjects = [part[1].decode().strip() for part in fetched if isinstance(part, tuple)]
print(json.dumps({'good': good, 'bad': bad, 'exists': int(data[0]), 'subjects': subjects}))
M.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const result = JSON.parse(out) as { good: string[]; bad: string[]; exists: number; subjects: string[] };
    assert.match(result.good.at(-1)!, /^m1 OK \[APPENDUID \d+ 1:3\] APPEND completed$/);
    assert.match(result.bad.at(-1)!, /^m2 NO \[UNKNOWN-CTE\]/);
    assert.equal(result.exists, 3, 'the refused MULTIAPPEND appended nothing');
    assert.deepEqual(result.subjects, ['Subject: one', 'Subject: two', 'Subject: three']);
    const states = await w.store.mailStore.listMessages(ALICE.user, 'Multi');
    assert.deepEqual(states.map((m) => m.flags), [['\\Seen'], [], ['\\Flagged', '$Three']]);
    assert.equal(states[2]!.internalDate, '2024-02-01T10:00:00.000Z');
  });

  test('MULTIAPPEND whose filing fails part-way leaves the mailbox as it was (RFC 3502 §4)', async (t) => {
    await w.store.mailStore.createMailbox(ALICE.user, 'Atomic');
    let filed = 0;
    // A store that fails the second message's filing, as a throttled or unreachable table would.
    const failing = new Proxy(w.store.mailStore, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop !== 'fileMessage') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (request: Parameters<typeof target.fileMessage>[0]) => {
          if (++filed === 2) throw new Error('table unavailable');
          return target.fileMessage(request);
        };
      },
    });
    const server = await w.startServer({ store: failing });
    const c = await RawImap.connect(server.ports.imap!);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    const [one, two, three] = ['Subject: a\r\n\r\na\r\n', 'Subject: b\r\n\r\nb\r\n', 'Subject: c\r\n\r\nc\r\n'];
    const answer = await c.command(`APPEND Atomic {${one.length}+}\r\n${one} {${two.length}+}\r\n${two} {${three.length}+}\r\n${three}`, 'm1');
    assert.match(answer.at(-1)!, /^m1 NO /);
    const left = await w.store.mailStore.listMessages(ALICE.user, 'Atomic');
    assert.deepEqual(left, [], 'the message filed before the failure was taken back');
  });
});
