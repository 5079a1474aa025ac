// UTF8=ACCEPT (RFC 6855) with Python's imaplib in UTF-8 mode: ENABLE, then mailbox names unencoded
// and APPEND UTF8 (literal8); a session that did not enable it still sees modified UTF-7.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, type ImapWorld, imapWorldSuite, RawImap, runPython } from './helpers/imap-world.ts';

describe('IMAP UTF8=ACCEPT (RFC 6855)', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

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
