// LOGIN and AUTHENTICATE (RFC 3501 §6.2.2-§6.2.3, RFC 4616 PLAIN): one answer for a wrong password
// and an unknown user, LOGINDISABLED for remote cleartext, and the login throttle IMAP shares with
// POP3 and the SMTP edge (core/login.ts; its unit tests are test/core/login.test.ts).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailureCounter } from '../../../core/login-failures.ts';
import { ALICE, type ImapWorld, imapWorldSuite, RawImap, startImapWorld } from './helpers/imap-world.ts';

describe('IMAP LOGIN and AUTHENTICATE', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

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

test('IMAP LOGIN: the delay comes before the check, and a locked-out IP is refused even the right password', async (t) => {
  const w = await startImapWorld({ throttle: new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 300, maxDelayMs: 300, lockoutFailures: 3 }) });
  t.after(() => w.close());
  const c = await RawImap.connect(w.port);
  t.after(() => c.close());
  await c.line();
  for (const attempt of [1, 2]) {
    const answer = await c.command(`LOGIN ${ALICE.user} wrong`);
    assert.match(answer.at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, `attempt ${attempt}`);
  }
  const started = Date.now();
  assert.match((await c.command(`LOGIN ${ALICE.user} wrong`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/);
  assert.ok(Date.now() - started >= 250, `third attempt waited ${Date.now() - started} ms`);
  // Three failures from 127.0.0.1: locked out, and the answer is the one a wrong password gets.
  assert.match((await c.command(`LOGIN ${ALICE.user} ${ALICE.password}`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\] Authentication failed/);
});

/** Loopback addresses standing for three client hosts. */
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** A throttle whose delays are short enough for a test and whose lockout starts at 10 failures. */
const burstThrottle = () => new LoginFailureCounter({ freeFailures: 2, baseDelayMs: 10, maxDelayMs: 40, lockoutFailures: 10 });

test('IMAP LOGIN: 50 parallel wrong logins, then the right one: every attempt is counted before its check, so the IP is locked', async (t) => {
  const w = await startImapWorld({ throttle: burstThrottle() });
  t.after(() => w.close());
  // Three client hosts, 17 connections each (under any per-address connection cap); each host
  // is locked out after 10 failures, and the right password goes last, from the third.
  const clients = await Promise.all(Array.from({ length: 51 }, (_, i) => RawImap.connect(w.port, false, HOSTS[i % 3])));
  t.after(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map((c) => c.line()));
  // All 51 LOGINs are on the wire before any answer: the right password is the last one sent.
  // Thirty password checks at once on a loaded machine can take a while: a generous wait.
  const answers = await Promise.all(clients.map((c, i) => {
    c.write(`a${i} LOGIN ${ALICE.user} ${i === 50 ? ALICE.password : `wrong-${i}`}\r\n`);
    return c.until(`a${i}`, 60_000);
  }));
  for (const answer of answers) assert.match(answer.at(-1)!, /NO \[AUTHENTICATIONFAILED\] Authentication failed/);
  const after = await RawImap.connect(w.port, false, HOSTS[2]);
  t.after(() => after.close());
  await after.line();
  assert.match((await after.command(`LOGIN ${ALICE.user} ${ALICE.password}`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, 'still locked afterwards');
});

test('IMAP LOGIN: names that are not plain addresses are refused, though the URL parser would make them alice', async (t) => {
  const w = await startImapWorld({ throttle: new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 100 }) });
  t.after(() => w.close());
  const c = await RawImap.connect(w.port);
  t.after(() => c.close());
  await c.line();
  for (const name of ['alice@example.test/anything', 'alice@ex%61mple.test', 'alice@example.test:9#x', 'alice@example.test.', 'alice@example.test?x', 'alice@[example.test]']) {
    assert.match((await c.command(`LOGIN "${name}" "${ALICE.password}"`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, name);
  }
  // The canonical spellings of the same account still work (case, as before).
  assert.match((await c.command(`LOGIN "Alice@Example.TEST" "${ALICE.password}"`)).at(-1)!, /OK /);
});
