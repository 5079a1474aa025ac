// IDLE (RFC 2177): a delivery wakes an idling session within 2 s, on a server other than the one the
// store was written through (imapflow and raw lines); DONE ends it. The keepalive is in
// idle-keepalive.test.ts, the shared watcher behind IDLE in idle-watcher.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, imapWorldSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

describe('IMAP IDLE', () => {
  let w: ImapWorld;
  let secondPort: number;
  imapWorldSuite(async (world) => {
    w = world;
    // Sessions on a second server, which stands for another task: the deliveries do not pass through it.
    secondPort = (await w.startServer()).ports.imap!;
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
