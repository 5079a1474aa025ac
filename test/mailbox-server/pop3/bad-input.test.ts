// POP3 guards: unknown and out-of-state commands, bad arguments, over-long lines, SASL garbage,
// IN-USE, cleartext logins from remote clients, no account enumeration, bad-command and login caps,
// and the timeouts (RFC 1939 §3, RFC 2449 §4 and §8, RFC 2595 §2.3, RFC 3206, RFC 5034 §4).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crlf, PASSWORD, RawPop3, startPop3Rig, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';
import { LoginFailureCounter } from '../../../core/login-failures.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => {
  rig = await startPop3Rig();
  server = await rig.server();
});
after(() => rig?.close());

const message = crlf('Subject: m\n\nbody\n');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

async function greeted(port = server.ports.plain!, tls = false): Promise<RawPop3> {
  const c = await RawPop3.connect(port, { tls });
  assert.match(await c.line(), /^\+OK /);
  return c;
}

async function loggedIn(account: string): Promise<RawPop3> {
  const c = await greeted();
  await c.command(`USER ${account}`);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
  return c;
}

test('unknown commands, wrong state and bad arguments get -ERR; the session goes on', async () => {
  const account = await rig.account([message, message]);
  const c = await greeted();
  assert.equal(await c.command('XYZZY'), '-ERR Unknown command');
  assert.equal(await c.command('STAT'), '-ERR Command not valid in this state');
  assert.equal(await c.command('RETR 1'), '-ERR Command not valid in this state');
  assert.equal(await c.command('PASS secret'), '-ERR USER first');
  assert.equal(await c.command('STLS now'), '-ERR No arguments allowed');
  await c.command(`USER ${account}`);
  await c.command(`PASS ${PASSWORD}`);
  assert.equal(await c.command('USER again'), '-ERR Command not valid in this state');
  assert.equal(await c.command('STLS'), '-ERR Command not valid in this state');
  assert.equal(await c.command('AUTH PLAIN'), '-ERR Command not valid in this state');
  c.destroy();
  // A fresh session: the ones above already count towards the bad-command limit.
  const d = await greeted();
  await d.command(`USER ${account}`);
  await d.command(`PASS ${PASSWORD}`);
  const cases: Array<[string, string]> = [
    ['RETR x', '-ERR Invalid message number'],
    ['RETR -1', '-ERR Invalid message number'],
    ['RETR 0', '-ERR No such message'],
    ['RETR 3', '-ERR No such message'],
    ['RETR 99999999999', '-ERR Invalid message number'],
    ['RETR', '-ERR Wrong number of arguments'],
    ['RETR 1 2', '-ERR Wrong number of arguments'],
    ['TOP 1', '-ERR Wrong number of arguments'],
    ['TOP 1 -1', '-ERR Invalid line count'],
    ['TOP 1 x', '-ERR Invalid line count'],
    ['LIST 1 2', '-ERR Wrong number of arguments'],
    ['STAT 1', '-ERR No arguments allowed'],
  ];
  for (const [line, answer] of cases) assert.equal(await d.command(line), answer, line);
  assert.match(await d.command('DELE 1'), /^\+OK/);
  for (const line of ['RETR 1', 'TOP 1 0', 'DELE 1', 'LIST 1', 'UIDL 1']) assert.equal(await d.command(line), '-ERR Message already deleted', line);
  assert.equal(await d.command('STAT'), `+OK 1 ${message.length}`);
  assert.equal(await d.command('RSET'), `+OK Maildrop has 2 messages (${message.length * 2} octets)`);
  d.destroy();
});

test('an over-long line gets -ERR and the session goes on (RFC 2449 §4)', async () => {
  const c = await greeted();
  assert.equal(await c.command('NOOP ' + 'x'.repeat(300)), '-ERR Line too long');
  c.send(Buffer.alloc(64 * 1024, 0x41));
  c.send('\r\n');
  assert.equal(await c.line(), '-ERR Line too long');
  assert.equal(await c.command('CAPA'), '+OK Capability list follows');
  await c.multi();
  c.destroy();
});

test('AUTH: garbage base64, unknown mechanism, malformed PLAIN, authzid of someone else', async () => {
  const account = await rig.account();
  const other = await rig.account();
  const c = await greeted();
  assert.equal(await c.command('AUTH CRAM-MD5'), '-ERR Unsupported authentication mechanism');
  assert.equal(await c.command('AUTH PLAIN !!!notbase64'), '-ERR Invalid base64 data');
  assert.equal(await c.command('AUTH PLAIN'), '+ ');
  assert.equal(await c.command('abc'), '-ERR Invalid base64 data');
  assert.equal(await c.command(`AUTH PLAIN ${b64('no nul bytes here')}`), '-ERR [AUTH] Authentication failed');
  assert.equal(await c.command(`AUTH PLAIN ${b64(`${other}\0${account}\0${PASSWORD}`)}`), '-ERR [AUTH] Authentication failed');
  assert.equal(await c.command(`AUTH PLAIN ${b64(`\0${account}\0wrong`)}`), '-ERR [AUTH] Authentication failed');
  assert.equal(await c.line(), '-ERR Too many failed logins, closing');
  await c.closed();
  assert.ok(c.isClosed, 'closed after three failed logins');
});

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

test('a cleartext login from a remote client is refused; over TLS it works (RFC 2595 §2.3)', async () => {
  const remote = await rig.server({ loopbackIsRemote: true });
  const account = await rig.account([message]);
  const c = await greeted(remote.ports.plain!);
  await c.command('CAPA');
  const caps = (await c.multi()).toString().split('\r\n');
  assert.ok(caps.includes('STLS') && !caps.includes('USER') && !caps.includes('SASL PLAIN'), caps.join(' '));
  assert.match(await c.command(`USER ${account}`), /^-ERR \[AUTH\] /);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^-ERR \[AUTH\] /);
  assert.match(await c.command(`AUTH PLAIN ${b64(`\0${account}\0${PASSWORD}`)}`), /^-ERR \[AUTH\] /);
  c.destroy();
  // Implicit TLS is fine.
  const s = await greeted(remote.ports.tls!, true);
  await s.command(`USER ${account}`);
  assert.match(await s.command(`PASS ${PASSWORD}`), /^\+OK /);
  await s.command('QUIT');
});

test('too many bad commands close the connection', async () => {
  const c = await greeted();
  for (let i = 0; i < 10; i++) assert.equal(await c.command('BOGUS'), '-ERR Unknown command');
  assert.equal(await c.command('BOGUS'), '-ERR Too many bad commands, closing');
  await c.closed();
});

test('an HTTP request on the POP3 port is answered once and closed', async () => {
  const c = await greeted();
  assert.equal(await c.command('GET / HTTP/1.1'), '-ERR This is a POP3 server');
  await c.closed();
});

test('unauthenticated timeout, and autologout after login does not enter UPDATE (RFC 1939 §3)', async () => {
  const quick = await rig.server({ limits: { loginDeadlineMs: 300, idleTimeoutMs: 400 } });
  const c = await greeted(quick.ports.plain!);
  assert.equal(await c.line(), '-ERR Autologout: no login in time');
  await c.closed();

  // The login itself (password hash, store) may take longer than 300 ms on a loaded machine.
  const idle = await rig.server({ limits: { loginDeadlineMs: 30_000, idleTimeoutMs: 400 } });
  const account = await rig.account([message]);
  const d = await greeted(idle.ports.plain!);
  await d.command(`USER ${account}`);
  await d.command(`PASS ${PASSWORD}`);
  assert.match(await d.command('DELE 1'), /^\+OK/);
  assert.equal(await d.line(), '-ERR Autologout: idle for too long');
  await d.closed();
  assert.equal((await rig.store.mailStore.listMessages(account, 'INBOX')).length, 1, 'nothing deleted');
});
