// Hostile and malformed input (RFC 3501 §7.1.3 BAD, RFC 7888/7889 literal limits):
// each gets BAD/NO and the connection stays usable, or BYE where the RFC closes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('IMAP bad input', () => {
  let w: ImapWorld;
  let strictPort: number;
  let quietPort: number;
  before(async () => {
    w = await startImapWorld({ limits: { idlePollMs: 200, wire: { maxLiteralOctets: 64 * 1024, maxCommandOctets: 128 * 1024 } } });
    strictPort = (await w.startServer({ limits: { loginDeadlineMs: 300, maxBadCommands: 3, idlePollMs: 200 } })).ports.imap!;
    quietPort = (await w.startServer({ limits: { loginDeadlineMs: 30_000, idleTimeoutMs: 400, idlePollMs: 200 } })).ports.imap!;
  });
  after(async () => {
    await w?.close();
  });

  const session = async (t: { after(fn: () => void): void }, port = w.port) => {
    const c = await RawImap.connect(port);
    t.after(() => c.close());
    await c.line();
    return c;
  };

  test('malformed commands are BAD and the session goes on', async (t) => {
    const c = await session(t);
    assert.match((await c.command('LOGIN', 'a1'))[0]!, /^a1 BAD/);
    assert.match((await c.command('LIST (("" "*"', 'a2'))[0]!, /^a2 BAD/);
    await c.login(ALICE.user, ALICE.password);
    await c.command('SELECT INBOX', 's');
    assert.match((await c.command('FETCH 1:* (FLAGS (BODY[]', 'a3'))[0]!, /^a3 BAD/);
    assert.match((await c.command('SEARCH (OR FLAGGED', 'a4'))[0]!, /^a4 BAD/);
    assert.match((await c.command('SEARCH ' + '('.repeat(200) + 'ALL' + ')'.repeat(200), 'a5'))[0]!, /^a5 BAD/);
    assert.match((await c.command('STORE 1 +FLAGS (\\Recent)', 'a6'))[0]!, /^a6 BAD/);
    c.write('a7 NOOP\0\r\n');
    assert.match((await c.until('a7'))[0]!, /^a7 BAD/);
    c.write('* NOOP\r\n');
    assert.match((await c.line())!, /^\* BAD/);
    assert.deepEqual(await c.command('NOOP', 'a8'), ['a8 OK NOOP completed']);
  });

  test('a literal over APPENDLIMIT is NO [TOOBIG] before it is sent; a 1 MB line is BAD', async (t) => {
    const c = await session(t);
    await c.login(ALICE.user, ALICE.password);
    c.write('b1 APPEND INBOX {70000}\r\n');
    assert.equal(await c.line(), 'b1 NO [TOOBIG] Literal too big');
    c.write(`b2 NOOP ${'x'.repeat(1024 * 1024)}\r\n`);
    assert.equal(await c.line(), 'b2 BAD Command line too long');
    assert.deepEqual(await c.command('NOOP', 'b3'), ['b3 OK NOOP completed']);
    // A non-synchronising literal over the limit: BAD, its bytes are read and dropped.
    c.write(`b4 APPEND INBOX {70000+}\r\n${'y'.repeat(70000)}\r\n`);
    assert.match((await c.line())!, /^b4 BAD \[TOOBIG\]/);
    assert.deepEqual(await c.command('NOOP', 'b5'), ['b5 OK NOOP completed']);
  });

  test('bad commands up to the limit are answered; the one after them ends with BYE', async (t) => {
    const c = await session(t, strictPort);
    for (const tag of ['c1', 'c2', 'c3']) assert.match((await c.command('BOGUS', tag))[0]!, new RegExp(`^${tag} BAD`));
    c.write('c4 BOGUS\r\n');
    assert.match((await c.line())!, /^c4 BAD/);
    assert.equal(await c.line(), '* BYE Too many invalid commands');
    assert.equal(await c.line(), null);
  });

  test('an HTTP request on the IMAP port is refused once with BYE and closed', async (t) => {
    const c = await session(t);
    c.write('GET / HTTP/1.1\r\nHost: mail.example\r\nUser-Agent: probe\r\n\r\n');
    assert.equal(await c.line(), '* BYE This is an IMAP server');
    assert.equal(await c.line(), null);
  });

  test('after login, a silent client is logged out when the inactivity timer ends (RFC 3501 §5.4)', async (t) => {
    const c = await session(t, quietPort);
    await c.login(ALICE.user, ALICE.password);
    assert.equal(await c.line(5000), '* BYE Autologout; idle for too long');
    assert.equal(await c.line(), null);
  });

  test('an unauthenticated connection is closed after its timeout (RFC 3501 §5.4)', async (t) => {
    const c = await session(t, strictPort);
    assert.equal(await c.line(3000), '* BYE Autologout; no login in time');
    assert.equal(await c.line(), null);
  });

  test('commands in the wrong state are BAD; an unknown command is BAD; a missing tag is untagged BAD', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    assert.match((await c.command('SELECT INBOX', 'a1'))[0]!, /^a1 BAD SELECT is not valid in this state/);
    assert.match((await c.command('FETCH 1 FLAGS', 'a2'))[0]!, /^a2 BAD/);
    assert.match((await c.command('FROBNICATE', 'a3'))[0]!, /^a3 BAD Unknown command FROBNICATE/);
    c.write('\r\n');
    assert.match((await c.line())!, /^\* BAD/);
    await c.login(ALICE.user, ALICE.password);
    assert.match((await c.command('FETCH 1 FLAGS', 'a4'))[0]!, /^a4 BAD FETCH is not valid in this state/);
    assert.match((await c.command('STARTTLS', 'a5'))[0]!, /^a5 BAD/);
  });
});
