// Session basics over a raw socket (RFC 3501 §6.1-§6.2): greeting, CAPABILITY, NOOP, LOGOUT,
// LOGIN/AUTHENTICATE, STARTTLS, LOGINDISABLED for remote cleartext, commands in the wrong state.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { ALICE, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

describe('IMAP session', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
  });
  after(async () => {
    await w?.close();
  });

  test('greeting, CAPABILITY, NOOP, LOGOUT', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    const greeting = await c.line();
    assert.match(greeting!, /^\* OK \[CAPABILITY IMAP4rev1 .*STARTTLS.*AUTH=PLAIN/);
    assert.doesNotMatch(greeting!, /COMPRESS/);
    const caps = await c.command('CAPABILITY', 'a1');
    assert.match(caps[0]!, /^\* CAPABILITY IMAP4rev1 .*IDLE.*UIDPLUS.*MOVE.*CONDSTORE.*APPENDLIMIT=\d+/);
    assert.equal(caps[1], 'a1 OK CAPABILITY completed');
    assert.deepEqual(await c.command('NOOP', 'a2'), ['a2 OK NOOP completed']);
    assert.deepEqual(await c.command('LOGOUT', 'a3'), ['* BYE Logging out', 'a3 OK LOGOUT completed']);
    assert.equal(await c.line(), null);
  });

  test('LOGIN: wrong password and unknown user get the same NO; right one gives OK [CAPABILITY]', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    const wrong = await c.command(`LOGIN ${ALICE.user} nope`, 'a1');
    const unknown = await c.command('LOGIN nobody@example.test nope', 'a2');
    assert.equal(wrong[0], 'a1 NO [AUTHENTICATIONFAILED] Authentication failed');
    assert.equal(unknown[0], 'a2 NO [AUTHENTICATIONFAILED] Authentication failed');
    const ok = await c.command(`LOGIN ${ALICE.user} ${ALICE.password}`, 'a3');
    assert.match(ok[0]!, /^a3 OK \[CAPABILITY IMAP4rev1 [^\]]*\] Logged in$/);
    assert.doesNotMatch(ok[0]!, /AUTH=|STARTTLS/);
    assert.match((await c.command('LOGIN x y', 'a4'))[0]!, /^a4 BAD LOGIN is not valid in this state/);
  });

  test('AUTHENTICATE PLAIN with continuation, and with an initial response', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    c.write('a1 AUTHENTICATE PLAIN\r\n');
    assert.equal(await c.line(), '+ ');
    c.write(`${Buffer.from(`\0${ALICE.user}\0${ALICE.password}`).toString('base64')}\r\n`);
    assert.match((await c.until('a1'))[0]!, /^a1 OK \[CAPABILITY/);

    const d = await RawImap.connect(w.port);
    t.after(() => d.close());
    await d.line();
    const ir = Buffer.from(`\0${ALICE.user}\0${ALICE.password}`).toString('base64');
    assert.match((await d.command(`AUTHENTICATE PLAIN ${ir}`, 'b1'))[0]!, /^b1 OK/);

    const e = await RawImap.connect(w.port);
    t.after(() => e.close());
    await e.line();
    e.write('c1 AUTHENTICATE LOGIN\r\n');
    assert.equal(await e.line(), '+ VXNlcm5hbWU6');
    e.write(`${Buffer.from(ALICE.user).toString('base64')}\r\n`);
    assert.equal(await e.line(), '+ UGFzc3dvcmQ6');
    e.write('*\r\n');
    assert.equal((await e.until('c1'))[0], 'c1 BAD Authentication cancelled');
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

  test('STARTTLS upgrades the connection and drops pipelined cleartext', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    // The injected NOOP after STARTTLS must never run (RFC 2595 §3.1).
    c.write('a1 STARTTLS\r\ninjected NOOP\r\n');
    assert.equal(await c.line(), 'a1 OK Begin TLS negotiation now');
    const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    t.after(() => secure.destroy());
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const received: Buffer[] = [];
    secure.on('data', (d: Buffer) => received.push(d));
    secure.write('a2 CAPABILITY\r\n');
    await eventually(() => Buffer.concat(received).toString().includes('a2 OK'), 'the answer to a2', 5000, 20);
    const text = Buffer.concat(received).toString();
    assert.match(text, /\* CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    assert.doesNotMatch(text, /STARTTLS/);
    assert.doesNotMatch(text, /injected/);
  });

  test('implicit TLS (993) greets', async (t) => {
    const c = await RawImap.connect(w.tlsPort, true);
    t.after(() => c.close());
    assert.match((await c.line())!, /^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    await c.login(ALICE.user, ALICE.password);
  });

  test('cleartext from a remote client: LOGINDISABLED, LOGIN and AUTHENTICATE refused', async (t) => {
    const remote = await w.startServer({ loopbackIsRemote: true });
    const c = await RawImap.connect(remote.ports.imap!);
    t.after(() => c.close());
    const greeting = await c.line();
    assert.match(greeting!, /LOGINDISABLED/);
    assert.doesNotMatch(greeting!, /AUTH=PLAIN/);
    assert.equal((await c.command(`LOGIN ${ALICE.user} ${ALICE.password}`, 'a1'))[0], 'a1 NO [PRIVACYREQUIRED] Log in over TLS (STARTTLS or port 993)');
    assert.match((await c.command('AUTHENTICATE PLAIN', 'a2'))[0]!, /^a2 NO \[PRIVACYREQUIRED\]/);
    const s = await RawImap.connect(remote.ports.imaps!, true);
    t.after(() => s.close());
    await s.line();
    await s.login(ALICE.user, ALICE.password);
  });
});
