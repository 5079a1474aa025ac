// STLS (RFC 2595 §4): the upgrade, commands pipelined behind it discarded, and a cleartext login
// from a remote client refused until TLS is on (§2.3).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTls } from 'node:tls';
import { SocketReader } from '../../helpers/socket-reader.ts';
import { base64 as b64, crlf, greetedOn, PASSWORD, RawPop3, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const message = crlf('Subject: m\n\nbody\n');
const first = crlf('From: a@example.org\nSubject: one\n\nline 1\n.starts with a dot\n..two dots\n.\nlast\n');
const greeted = (port = server.ports.plain!, tls = false) => greetedOn(port, tls);
const plain = () => server.ports.plain!;

test('STLS upgrades the connection; commands pipelined behind STLS are discarded (RFC 2595 §4)', async () => {
  const account = await rig.account([first]);
  const c = await RawPop3.connect(plain());
  await c.line();
  c.send('STLS\r\nNOOP\r\n');
  assert.equal(await c.line(), '+OK Begin TLS negotiation now');
  c.socket.removeAllListeners('data');
  const secure = connectTls({ socket: c.socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const reader = new SocketReader(secure);
  secure.write(`USER ${account}\r\nPASS ${PASSWORD}\r\nCAPA\r\n`);
  const whole = (b: Buffer) => (b.includes('\r\n.\r\n') && b.includes('Logged in') ? b.length : -1);
  const text = (await reader.take(whole, 'the answers to USER, PASS and CAPA', 10_000))!.toString('latin1');
  const responses = text.split('\r\n');
  secure.destroy();
  assert.equal(responses[0], '+OK Send PASS', 'the NOOP sent before the handshake got no answer');
  assert.match(responses[1]!, /^\+OK Logged in/);
  assert.ok(!responses.includes('STLS'), 'no STLS once TLS is on');
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

