// POP3 guards: unknown and out-of-state commands, bad arguments, over-long lines, the bad-command
// cap, an HTTP request, and the timeouts (RFC 1939 §3, RFC 2449 §4). The refusals that belong to one
// command are in its file (auth, user-pass, stls).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crlf, greetedOn, PASSWORD, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const message = crlf('Subject: m\n\nbody\n');

const greeted = (port = server.ports.plain!) => greetedOn(port);

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
