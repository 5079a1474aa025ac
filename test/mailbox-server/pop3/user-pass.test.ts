// USER and PASS (RFC 1939 §7), the AUTHORIZATION state's login: one answer for an unknown user and a
// wrong password, the login throttle shared with IMAP and SMTP (core/login.ts), names that are
// not plain addresses, and one session per maildrop ([IN-USE], RFC 2449 §8.1.2).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { base64 as b64, crlf, greetedOn, loggedInOn, PASSWORD, RawPop3, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';
import { LoginFailureCounter } from '../../../core/login-failures.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const message = crlf('Subject: m\n\nbody\n');
const greeted = (port = server.ports.plain!, tls = false) => greetedOn(port, tls);
const loggedIn = (account: string) => loggedInOn(server.ports.plain!, account);

test('unknown user and wrong password get the same answer (no enumeration)', async () => {
  const account = await rig.account();
  const c = await greeted();
  await c.command(`USER nobody-${Date.now()}@${account.split('@')[1]}`);
  const unknown = await c.command(`PASS ${PASSWORD}`);
  await c.command(`USER ${account}`);
  const wrong = await c.command('PASS not the password');
  assert.equal(unknown, '-ERR [AUTH] Authentication failed');
  assert.equal(wrong, unknown);
  c.destroy();
});

test('failed logins slow down further attempts from the IP (shared auth throttle)', async () => {
  const throttled = await rig.server({ throttle: new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 400, maxDelayMs: 400 }) });
  const account = await rig.account();
  const c = await greeted(throttled.ports.plain!);
  for (const attempt of [1, 2]) {
    await c.command(`USER ${account}`);
    assert.match(await c.command('PASS wrong'), /^-ERR \[AUTH\]/, `attempt ${attempt}`);
  }
  // Third attempt, right password: it waits too (the delay comes before the check).
  const started = Date.now();
  await c.command(`USER ${account}`);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
  assert.ok(Date.now() - started >= 350, `took ${Date.now() - started} ms`);
  await c.command('QUIT');
});

test('an IP locked out by the shared throttle is refused even the right password, unchecked', async () => {
  const throttle = new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 2 });
  const locked = await rig.server({ throttle });
  const account = await rig.account();
  // The lockout may come from another protocol: IMAP and SMTP count into the same throttle.
  throttle.recordFailure('127.0.0.1', 'someone@else.test');
  throttle.recordFailure('127.0.0.1', 'someone@else.test');
  const c = await greeted(locked.ports.plain!);
  await c.command(`USER ${account}`);
  assert.equal(await c.command(`PASS ${PASSWORD}`), '-ERR [AUTH] Authentication failed');
  assert.match(await c.command(`AUTH PLAIN ${b64(`\0${account}\0${PASSWORD}`)}`), /^-ERR \[AUTH\]/);
  assert.equal(await c.command('STAT'), '-ERR Command not valid in this state', 'still in AUTHORIZATION');
  c.destroy();
});

test('50 parallel wrong logins, then the right one: each is counted before its check, so the IP is locked', async (t) => {
  const throttled = await rig.server({ throttle: new LoginFailureCounter({ freeFailures: 2, baseDelayMs: 10, maxDelayMs: 40, lockoutFailures: 10 }) });
  const account = await rig.account();
  // Three client hosts, 17 connections each (under any per-address connection cap); each host
  // is locked out after 10 failures, and the right password goes last, from the third.
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const fromHost = async (host: string) => {
    const c = await RawPop3.connect(throttled.ports.plain!, { localAddress: host });
    assert.match(await c.line(), /^\+OK /);
    return c;
  };
  const clients = await Promise.all(Array.from({ length: 51 }, (_, i) => fromHost(hosts[i % 3]!)));
  t.after(() => clients.forEach((c) => c.destroy()));
  for (const reply of await Promise.all(clients.map((c) => c.command(`USER ${account}`)))) assert.match(reply, /^\+OK/);
  // All 51 PASS commands are on the wire before any answer: the right password is the last one sent.
  // Thirty password checks at once on a loaded machine can take a while: a generous wait.
  const replies = await Promise.all(clients.map((c, i) => c.command(`PASS ${i === 50 ? PASSWORD : `wrong-${i}`}`, 60_000)));
  for (const reply of replies) assert.equal(reply, '-ERR [AUTH] Authentication failed');
  const late = await fromHost(hosts[2]!);
  t.after(() => late.destroy());
  assert.match(await late.command(`AUTH PLAIN ${b64(`\0${account}\0${PASSWORD}`)}`), /^-ERR \[AUTH\]/, 'still locked afterwards');
});

test('login names that are not plain addresses are refused, though the URL parser would make them the account', async (t) => {
  const lenient = await rig.server({ throttle: new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 100 }) });
  const account = await rig.account();
  const [local, domain] = account.split('@') as [string, string];
  const variants = [`${account}/anything`, `${local}@${domain.replace(/^p/, '%70')}`, `${account}:9#x`, `${account}.`];
  for (const name of variants) {
    const c = await greeted(lenient.ports.plain!);
    t.after(() => c.destroy());
    assert.match(await c.command(`USER ${name}`), /^\+OK/);
    assert.equal(await c.command(`PASS ${PASSWORD}`), '-ERR [AUTH] Authentication failed', name);
    assert.match(await c.command(`AUTH PLAIN ${b64(`\0${name}\0${PASSWORD}`)}`), /^-ERR \[AUTH\]/, `AUTH PLAIN ${name}`);
  }
  const c = await greeted(lenient.ports.plain!);
  await c.command(`USER ${account.toUpperCase()}`);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /, 'the canonical account, in any case, still logs in');
  await c.command('QUIT');
});

test('one session per maildrop: the second gets -ERR [IN-USE] until the first quits (RFC 2449 §8.1.2)', async () => {
  const account = await rig.account([message]);
  const first = await loggedIn(account);
  const second = await greeted();
  await second.command(`USER ${account}`);
  assert.equal(await second.command(`PASS ${PASSWORD}`), '-ERR [IN-USE] Maildrop is locked by another session');
  assert.equal(await second.command('STAT'), '-ERR Command not valid in this state', 'still in AUTHORIZATION');
  // The other listener shares the lock too.
  const tls = await greeted(server.ports.tls!, true);
  assert.match(await tls.command(`AUTH PLAIN ${b64(`\0${account}\0${PASSWORD}`)}`), /^-ERR \[IN-USE\]/);
  tls.destroy();
  await first.command('QUIT');
  await first.closed();
  await second.command(`USER ${account}`);
  assert.match(await second.command(`PASS ${PASSWORD}`), /^\+OK /);
  await second.command('QUIT');
});

