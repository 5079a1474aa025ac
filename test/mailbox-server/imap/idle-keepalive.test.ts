// RFC 2177 IDLE keepalive: an idling session hears `* OK Still here` at the configured interval, in
// the selected and the authenticated state, mixed in order with mailbox changes, and DONE still
// ends the command; nothing is sent outside IDLE. (The NLB drops flows idle longer than its timeout.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('IDLE keepalive', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld({ limits: { idlePollMs: 200, idleKeepaliveMs: 150 } });
  });
  after(async () => {
    await w?.close();
  });

  const session = async (t: { after(fn: () => void): void }) => {
    const s = await RawImap.connect(w.port);
    t.after(() => s.close());
    assert.match((await s.line()) ?? '', /^\* OK /);
    await s.login(ALICE.user, ALICE.password);
    return s;
  };

  test('C: i IDLE / S: + idling / S: * OK Still here (repeatedly) / C: DONE / S: i OK IDLE terminated', async (t) => {
    const s = await session(t);
    await s.command('SELECT INBOX', 'sel');
    s.write('i IDLE\r\n');
    assert.equal(await s.line(), '+ idling');
    assert.equal(await s.line(2000), '* OK Still here');
    assert.equal(await s.line(2000), '* OK Still here');
    s.write('DONE\r\n');
    // A keepalive may already be on its way when DONE arrives; the tagged answer still ends it.
    let line = await s.line();
    while (line === '* OK Still here') line = await s.line();
    assert.equal(line, 'i OK IDLE terminated');
  });

  test('a delivery during IDLE still arrives between keepalives', async (t) => {
    const s = await session(t);
    await s.command('SELECT INBOX', 'sel');
    s.write('i IDLE\r\n');
    assert.equal(await s.line(), '+ idling');
    assert.equal(await s.line(2000), '* OK Still here');
    await w.deliver(ALICE.user, sampleMessage('during idle'));
    let line = await s.line(3000);
    while (line === '* OK Still here') line = await s.line(3000);
    assert.match(line ?? '', /^\* \d+ EXISTS$/);
    s.write('DONE\r\n');
    line = await s.line();
    while (line !== null && line.startsWith('* ')) line = await s.line();
    assert.equal(line, 'i OK IDLE terminated');
  });

  test('IDLE in the authenticated state (no mailbox) is kept alive too', async (t) => {
    const s = await session(t);
    s.write('i IDLE\r\n');
    assert.equal(await s.line(), '+ idling');
    assert.equal(await s.line(2000), '* OK Still here');
    s.write('DONE\r\n');
    let line = await s.line();
    while (line === '* OK Still here') line = await s.line();
    assert.equal(line, 'i OK IDLE terminated');
  });

  test('outside IDLE the server says nothing unasked', async (t) => {
    const s = await session(t);
    await s.command('SELECT INBOX', 'sel');
    // Absence cannot be waited for: five keepalive intervals pass with nothing on the wire.
    await assert.rejects(s.line(750), /timed out waiting for a line/);
    const lines = await s.command('NOOP', 'n');
    assert.match(lines.at(-1) ?? '', /^n OK /);
  });
});
