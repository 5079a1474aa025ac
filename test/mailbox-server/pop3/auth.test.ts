// AUTH (RFC 5034) with SASL PLAIN (RFC 4616): initial response, continuation, "*" cancels, the
// mechanism list; garbage base64, an unknown mechanism, a malformed PLAIN and another's authzid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { base64 as b64, crlf, greetedOn, PASSWORD, RawPop3, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const first = crlf('From: a@example.org\nSubject: one\n\nline 1\n.starts with a dot\n..two dots\n.\nlast\n');
const greeted = (port = server.ports.plain!, tls = false) => greetedOn(port, tls);
const plain = () => server.ports.plain!;

test('AUTH PLAIN: initial response, continuation, "*" cancels, bare AUTH lists mechanisms (RFC 5034)', async () => {
  const account = await rig.account([first]);
  const c = await RawPop3.connect(plain());
  await c.line();
  assert.equal(await c.command('AUTH'), '+OK Mechanisms follow');
  assert.equal((await c.multi()).toString(), 'PLAIN\r\n');
  assert.equal(await c.command('AUTH PLAIN'), '+ ');
  assert.match(await c.command('*'), /^-ERR /);
  assert.equal(await c.command('AUTH PLAIN'), '+ ');
  assert.match(await c.command(b64(`\0${account}\0${PASSWORD}`)), /^\+OK Logged in, 1 messages/);
  await c.command('QUIT');

  const d = await RawPop3.connect(plain());
  await d.line();
  assert.match(await d.command(`AUTH PLAIN ${b64(`${account}\0${account}\0${PASSWORD}`)}`), /^\+OK Logged in/);
  assert.equal(await d.command('STAT'), `+OK 1 ${first.length}`);
  await d.command('QUIT');
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

