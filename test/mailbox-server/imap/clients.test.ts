// Whole sessions of real IMAP clients, several commands each: imapflow (append, flag, move) and
// Python imaplib over STARTTLS (append, search, copy, expunge). One command's own cases are in its file.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, type ImapWorld, imapWorldSuite, runPython, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP sessions of real clients', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

  test('imapflow: append, move, flag', async (t) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
    t.after(() => client.close());
    await client.connect();
    await client.mailboxCreate('Flow');
    const appended = await client.append('Flow', sampleMessage('via imapflow'), ['\\Seen']);
    assert.ok(appended && appended.uid === 1);
    const lock = await client.getMailboxLock('Flow');
    try {
      assert.equal(await client.messageFlagsAdd('1', ['\\Flagged']), true);
      const fetched = await client.fetchOne('1', { flags: true });
      const flags = fetched ? fetched.flags : undefined;
      // imapflow enables IMAP4rev2, which has no \Recent (RFC 9051 Appendix E; docs/decisions/0021-imap4rev2.md).
      assert.ok(client.enabled.has('IMAP4REV2'));
      assert.deepEqual([...(flags ?? [])].sort(), ['\\Flagged', '\\Seen']);
      const moved = await client.messageMove('1', 'Archive');
      assert.ok(moved && moved.uidMap?.size === 1);
    } finally {
      lock.release();
    }
    const status = await client.status('Flow', { messages: true });
    assert.equal(status ? status.messages : -1, 0);
  });

  test('Python imaplib over STARTTLS: append, search, copy, expunge', async () => {
    const out = await runPython(`
import imaplib, ssl
m = imaplib.IMAP4('127.0.0.1', ${w.port})
m.starttls(ssl_context=ssl._create_unverified_context())
m.login('${ALICE.user}', '${ALICE.password}')
m.create('Py')
print(m.append('Py', '(\\\\Flagged)', None, b'From: p@y.test\\r\\nSubject: snake\\r\\n\\r\\nhiss\\r\\n')[0])
m.select('Py')
print(m.search(None, 'FLAGGED')[1][0].decode(), m.search(None, 'SUBJECT', 'snake')[1][0].decode(), m.search(None, 'BODY', 'hiss')[1][0].decode())
print(m.copy('1', 'Py')[0], m.store('1', '+FLAGS', '\\\\Deleted')[0], m.expunge()[1])
m.logout()
`);
    assert.equal(out, "OK\n1 1 1\nOK OK [b'1']\n");
  });
});
