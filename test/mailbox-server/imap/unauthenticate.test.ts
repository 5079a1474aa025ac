// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state, extensions ENABLEd before are off,
// and another user may log in on the same connection; through Python's imaplib and raw lines.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, BOB, type ImapWorld, imapWorldSuite, RawImap, runPython, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP UNAUTHENTICATE', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

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
});
