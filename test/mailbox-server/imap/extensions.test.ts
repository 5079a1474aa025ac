// Small extensions with real clients: RFC 3502 MULTIAPPEND (all or none) and RFC 8437
// UNAUTHENTICATE through Python's imaplib with raw commands, RFC 2971 ID from imapflow and with
// the "event" field iOS Mail sends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import packageJson from '../../../package.json' with { type: 'json' };
import { ALICE, BOB, RawImap, runPython, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('IMAP MULTIAPPEND, UNAUTHENTICATE, ID', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
  });
  after(async () => {
    await w?.close();
  });

  test('CAPABILITY advertises MULTIAPPEND and UNAUTHENTICATE', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    const caps = (await c.command('CAPABILITY', 'c1'))[0]!.split(' ');
    assert.ok(caps.includes('MULTIAPPEND') && caps.includes('UNAUTHENTICATE'), caps.join(' '));
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

  test('imaplib: UNAUTHENTICATE returns to the not-authenticated state; another user can log in on the same connection', async () => {
    await w.deliver(BOB.user, sampleMessage('for bob'));
    const out = await runPython(
      `
import imaplib, json, os
imaplib.Commands['UNAUTHENTICATE'] = ('AUTH', 'SELECTED')
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
M.login(os.environ['USER'], os.environ['PASS'])
M.select('INBOX')
typ, data = M._simple_command('UNAUTHENTICATE')
M.state = 'NONAUTH'
# imaplib checks states itself: ask the server directly.
M.send(b'x1 SELECT INBOX\\r\\n')
after = {'select': M.readline().decode().strip()}
typ2, caps = M.capability()
M.login(os.environ['USER2'], os.environ['PASS2'])
typ3, data3 = M.select('INBOX')
print(json.dumps({'unauth': typ, 'text': data[0].decode(), 'after': after, 'caps': caps[0].decode(), 'bob_exists': int(data3[0])}))
M.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password, USER2: BOB.user, PASS2: BOB.password },
    );
    const result = JSON.parse(out) as { unauth: string; text: string; after: { select: string }; caps: string; bob_exists: number };
    assert.equal(result.unauth, 'OK');
    assert.match(result.after.select, /^x1 BAD SELECT is not valid in this state/);
    assert.match(result.caps, /AUTH=PLAIN/, 'the pre-login capabilities again');
    assert.equal(result.bob_exists, 1);
  });

  test('UNAUTHENTICATE turns ENABLEd extensions off (RFC 8437 §3)', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    assert.deepEqual(await c.command('ENABLE CONDSTORE', 'e1'), ['* ENABLED CONDSTORE', 'e1 OK ENABLE completed']);
    assert.deepEqual(await c.command('UNAUTHENTICATE', 'e2'), ['e2 OK UNAUTHENTICATE completed']);
    assert.match((await c.command('UNAUTHENTICATE', 'e3'))[0]!, /^e3 BAD/, 'not valid before login');
    await c.login(ALICE.user, ALICE.password);
    assert.deepEqual(await c.command('ENABLE CONDSTORE', 'e4'), ['* ENABLED CONDSTORE', 'e4 OK ENABLE completed'], 'enabled anew');
  });

  test('ID answers name and version to imapflow, and takes the "event" field iOS Mail sends', async (t) => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: w.port,
      secure: false,
      auth: { user: ALICE.user, pass: ALICE.password },
      clientInfo: { name: 'iPhone Mail', version: '22B83', os: 'iOS', 'os-version': '18.1 (22B83)' },
      logger: false,
      tls: { rejectUnauthorized: false },
    });
    t.after(() => client.close());
    await client.connect();
    assert.equal(client.serverInfo?.name, 'mailbox-server');
    assert.equal(client.serverInfo?.version, packageJson.version);
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    const lines = await c.command('ID ("name" "iPhone Mail" "version" "22B83" "os" "iOS" "os-version" "18.1 (22B83)" "event" "connect")', 'i1');
    assert.deepEqual(lines, [`* ID ("name" "mailbox-server" "version" "${packageJson.version}" "vendor" "serverless-mail")`, 'i1 OK ID completed']);
  });
});

describe('IMAP UTF8=ACCEPT (RFC 6855)', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
  });
  after(async () => {
    await w?.close();
  });

  test('imaplib in UTF-8 mode: ENABLE, CREATE/LIST/STATUS/SELECT with names unencoded; APPEND UTF8 (literal8)', async () => {
    const out = await runPython(
      `
import imaplib, json, os
M = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
M.login(os.environ['USER'], os.environ['PASS'])
caps = M.capabilities
typ, enabled = M.enable('UTF8=ACCEPT')
out = {'caps': list(caps), 'enabled': [e.decode() for e in M.untagged_responses.pop('ENABLED', [])]}
out['create'] = M.create('"Grüße/日本語"')[0]
typ, listed = M.list('""', '"Grüße*"')
out['list'] = [l.decode('utf-8') for l in listed]
typ, status = M.status('"Grüße/日本語"', '(MESSAGES)')
out['status'] = status[0].decode('utf-8')
# imaplib wraps UTF8 ( ) inside its own literal; the RFC 6855 form goes raw, as literal8.
body = 'Subject: Grüße aus 日本\\r\\nFrom: Jörg <jörg@example.test>\\r\\n\\r\\nHallo\\r\\n'.encode('utf-8')
M.send(b'u1 APPEND "' + 'Grüße/日本語'.encode('utf-8') + b'" UTF8 (~{' + str(len(body)).encode() + b'+}\\r\\n' + body + b')\\r\\n')
out['append'] = M.readline().decode().strip()
typ, data = M.select('"Grüße/日本語"')
out['exists'] = int(data[0])
typ, fetched = M.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
out['subject'] = fetched[0][1].decode('utf-8').strip()
M.logout()
print(json.dumps(out))
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const result = JSON.parse(out) as Record<string, unknown>;
    assert.ok((result.caps as string[]).includes('UTF8=ACCEPT'));
    assert.deepEqual(result.enabled, ['UTF8=ACCEPT']);
    assert.equal(result.create, 'OK');
    assert.deepEqual(result.list, ['(\\HasChildren) "/" "Grüße"', '(\\HasNoChildren) "/" "Grüße/日本語"']);
    assert.equal(result.status, '"Grüße/日本語" (MESSAGES 0)');
    assert.match(result.append as string, /^u1 OK \[APPENDUID \d+ 1\]/);
    assert.equal(result.exists, 1);
    assert.equal(result.subject, 'Subject: Grüße aus 日本');
    // The same mailbox, for a client that did not enable UTF8=ACCEPT: modified UTF-7.
    const c = await RawImap.connect(w.port);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    assert.deepEqual(await c.command('LIST "" "Gr*"', 'l1'), ['* LIST (\\HasChildren) "/" "Gr&APwA3w-e"', '* LIST (\\HasNoChildren) "/" "Gr&APwA3w-e/&ZeVnLIqe-"', 'l1 OK LIST completed']);
    assert.match((await c.command('APPEND INBOX UTF8 (~{3+}\r\nabc)', 'l2'))[0]!, /^l2 BAD .*UTF8=ACCEPT/);
    c.close();
  });
});
