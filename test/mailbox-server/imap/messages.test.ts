// APPEND (RFC 3501 §6.3.11, UIDPLUS APPENDUID, LITERAL+), COPY (COPYUID), MOVE (RFC 6851),
// EXPUNGE / UID EXPUNGE / CLOSE / UNSELECT, with raw lines, imapflow and Python imaplib.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, RawImap, runPython, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('IMAP APPEND, COPY, MOVE, EXPUNGE', () => {
  let w: ImapWorld;
  let c: RawImap;
  before(async () => {
    w = await startImapWorld();
    c = await RawImap.connect(w.port);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
  });
  after(async () => {
    c?.close();
    await w?.close();
  });

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

  test('COPY answers COPYUID and shares the blob; MOVE sends COPYUID then EXPUNGE', async () => {
    for (let i = 1; i <= 4; i++) await w.deliver(ALICE.user, sampleMessage(`m${i}`));
    await c.command('SELECT INBOX', 'b0');
    const copied = await c.command('COPY 2:3 Archive', 'b1');
    assert.match(copied[0]!, /^b1 OK \[COPYUID \d+ 2:3 1:2\] COPY completed$/);
    const [source] = await w.store.mailStore.getMessages((await w.store.mailStore.getMailbox(ALICE.user, 'INBOX'))!.id, [2]);
    assert.equal(await w.store.mailStore.blobReferences(source!.blobKey), 2, 'blob shared by original and copy');
    const moved = await c.command('MOVE 1 Trash', 'b2');
    assert.match(moved[0]!, /^\* OK \[COPYUID \d+ 1 1\] Moved$/);
    assert.equal(moved[1], '* 1 EXPUNGE');
    assert.equal(moved[2], 'b2 OK MOVE completed');
    const uidMoved = await c.command('UID MOVE 4 Trash', 'b3');
    assert.match(uidMoved[0]!, /^\* OK \[COPYUID \d+ 4 2\] Moved$/);
    assert.equal(uidMoved[1], '* 3 EXPUNGE');
    assert.match((await c.command('COPY 1 "No such"', 'b4'))[0]!, /^b4 NO \[TRYCREATE\]/);
  });

  test('EXPUNGE, UID EXPUNGE, CLOSE expunge only \\Deleted; UNSELECT does not', async () => {
    await c.command('SELECT Archive', 'c0');
    for (let i = 0; i < 3; i++) await w.deliver(ALICE.user, sampleMessage(`x${i}`), { mailbox: 'Archive' });
    assert.equal((await c.command('NOOP', 'c1'))[0], '* 5 EXISTS');
    await c.command('STORE 1,3,5 +FLAGS.SILENT (\\Deleted)', 'c2');
    // UIDs 1..5 are messages 1..5; UID 5 is \Deleted but outside the UID set.
    assert.deepEqual(await c.command('UID EXPUNGE 1:3', 'c3'), ['* 3 EXPUNGE', '* 1 EXPUNGE', 'c3 OK UID EXPUNGE completed']);
    assert.deepEqual(await c.command('EXPUNGE', 'c4'), ['* 3 EXPUNGE', 'c4 OK EXPUNGE completed']);
    await c.command('STORE 1 +FLAGS.SILENT (\\Deleted)', 'c5');
    assert.deepEqual(await c.command('UNSELECT', 'c6'), ['c6 OK UNSELECT completed']);
    assert.equal((await c.command('STATUS Archive (MESSAGES)', 'c7'))[0], '* STATUS "Archive" (MESSAGES 2)');
    await c.command('SELECT Archive', 'c8');
    assert.deepEqual(await c.command('CLOSE', 'c9'), ['c9 OK CLOSE completed']);
    assert.equal((await c.command('STATUS Archive (MESSAGES)', 'c10'))[0], '* STATUS "Archive" (MESSAGES 1)');
  });

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
