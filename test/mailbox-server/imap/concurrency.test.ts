// Several sessions on one mailbox (RFC 3501 §5.2, §7.4.1): each sees the others' changes as
// EXISTS / EXPUNGE / FETCH FLAGS at the allowed points, across two server processes' worth of
// servers on one store; IDLE wakes on a delivery within 2 s (imapflow and raw lines).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

describe('IMAP concurrent sessions and IDLE', () => {
  let w: ImapWorld;
  let secondPort: number;
  before(async () => {
    w = await startImapWorld();
    // A second server on the same store stands for another Fargate task: no shared memory.
    secondPort = (await w.startServer()).ports.imap!;
    for (let i = 1; i <= 3; i++) await w.deliver(ALICE.user, sampleMessage(`m${i}`));
  });
  after(async () => {
    await w?.close();
  });

  test('a FLAGS change, an EXPUNGE and a delivery on one server show up in a session on the other', async (t) => {
    const a = await RawImap.connect(w.port);
    const b = await RawImap.connect(secondPort);
    t.after(() => {
      a.close();
      b.close();
    });
    for (const s of [a, b]) {
      await s.line();
      await s.login(ALICE.user, ALICE.password);
      await s.command('SELECT INBOX', 'sel');
    }
    await a.command('STORE 2 +FLAGS (\\Flagged \\Deleted)', 'a1');
    assert.deepEqual(await b.command('NOOP', 'b1'), ['* 2 FETCH (FLAGS (\\Flagged \\Deleted) UID 2)', 'b1 OK NOOP completed']);
    await a.command('EXPUNGE', 'a2');
    // §7.4.1: no EXPUNGE during FETCH; the message is left out, numbers stay as the client knows them.
    const fetch = await b.command('FETCH 1:3 (UID)', 'b2');
    assert.deepEqual(fetch, ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)', 'b2 OK FETCH completed']);
    const search = await b.command('SEARCH ALL', 'b3');
    assert.deepEqual(search, ['* SEARCH 1 3', 'b3 OK SEARCH completed']);
    // UID commands may expunge (RFC 3501 §7.4.1), and NOOP must.
    assert.deepEqual(await b.command('NOOP', 'b4'), ['* 2 EXPUNGE', 'b4 OK NOOP completed']);
    await w.deliver(ALICE.user, sampleMessage('new'));
    // b is the first to be told of it, so it is \Recent there (RFC 3501 §2.3.2) and not in a.
    assert.deepEqual(await b.command('NOOP', 'b5'), ['* 3 EXISTS', '* 1 RECENT', 'b5 OK NOOP completed']);
    assert.deepEqual(await a.command('UID FETCH 4 (UID)', 'a3'), ['* 3 EXISTS', '* 3 FETCH (UID 4)', 'a3 OK UID FETCH completed']);
  });

  test('raw IDLE: a delivery shows up within 2 s; DONE ends it', async (t) => {
    const c = await RawImap.connect(secondPort);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    const selected = await c.command('SELECT INBOX', 's');
    const exists = Number(/\* (\d+) EXISTS/.exec(selected.join('\n'))![1]);
    c.write('i1 IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    const started = Date.now();
    await w.deliver(ALICE.user, sampleMessage('while idle'));
    assert.equal(await c.line(2000), `* ${exists + 1} EXISTS`);
    assert.equal(await c.line(), '* 1 RECENT');
    assert.ok(Date.now() - started < 2000);
    c.write('DONE\r\n');
    assert.equal(await c.line(), 'i1 OK IDLE terminated');
  });

  test('imapflow IDLE is woken by a delivery', async (t) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
    t.after(() => client.close());
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    t.after(() => lock.release());
    const before = (client.mailbox as { exists: number }).exists;
    const woken = new Promise<number>((resolve) => client.on('exists', (data: { count: number }) => resolve(data.count)));
    const idling = client.idle();
    // The server watches the mailbox once its IDLE has begun.
    await eventually(() => w.server.watchedMailboxes > 0, 'the IDLE to begin');
    const started = Date.now();
    await w.deliver(ALICE.user, sampleMessage('wake up'));
    assert.equal(await woken, before + 1);
    assert.ok(Date.now() - started < 2000, 'within 2 s');
    void idling;
  });
});
