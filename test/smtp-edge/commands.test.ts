// The SMTP dialogue of the MX listener, command by command (RFC 5321 §4.1), and its guards
// against hostile clients. Each test reads as client line → expected server line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectReply, openTransaction, receiveInbound, SmtpWire, startEdgeWorld, type EdgeWorld } from './helpers.ts';
import { startSmtpEdge, type SmtpEdge } from '../../smtp-edge/server.ts';

let world: EdgeWorld;
let edge: SmtpEdge;
let port: number;

before(async () => {
  world = await startEdgeWorld({ mail: { maxRecipients: 3, maxMessageBytes: 64 * 1024 } });
  edge = await startSmtpEdge({ ...world.edgeOptions, limits: { ...world.edgeOptions.limits, maxConnectionsPerIp: 6 } });
  port = edge.ports.mx!;
});
after(async () => {
  await edge?.close();
  await world?.close();
});

async function session(t: { after(fn: () => void): void }): Promise<SmtpWire> {
  const { wire, greeting } = await SmtpWire.connect(port);
  t.after(() => wire.destroy());
  assert.equal(greeting, '220 mx.test.local ESMTP');
  return wire;
}

test('greeting, then EHLO lists the extensions', async (t) => {
  const wire = await session(t);
  const ehlo = await wire.command('EHLO client.test');
  assert.equal(ehlo.split('\r\n')[0], '250-mx.test.local Hello client.rdns.test');
  const extensions = ehlo.split('\r\n').slice(1).map((l) => l.slice(4));
  for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', `SIZE ${64 * 1024}`]) {
    assert.ok(extensions.includes(ext), `${ext} in ${extensions.join(', ')}`);
  }
  assert.ok(!extensions.some((e) => e.startsWith('AUTH')), 'no AUTH on MX');
});

test('HELO, NOOP, RSET, HELP, VRFY, EXPN, QUIT', async (t) => {
  const wire = await session(t);
  assert.equal(await wire.command('HELO client.test'), '250 mx.test.local Hello client.rdns.test');
  assert.equal(await wire.command('NOOP'), '250 2.0.0 OK');
  await expectReply(wire.command('MAIL FROM:<a@remote.test>'), /^250 2\.1\.0 /);
  assert.match(await wire.command('RSET'), /^250 2\.0\.0 /);
  // RSET ended the transaction: RCPT needs a new MAIL
  assert.match(await wire.command('RCPT TO:<demo@example.test>'), /^503 5\.5\.1 /);
  assert.match(await wire.command('HELP'), /^214 /);
  // VRFY never tells an account from a non-account (RFC 5321 §7.3)
  const known = await wire.command('VRFY demo@example.test');
  const unknown = await wire.command('VRFY nobody@example.test');
  assert.match(known, /^252 /);
  assert.equal(known, unknown);
  assert.match(await wire.command('VRFY'), /^501 /);
  assert.match(await wire.command('EXPN staff'), /^502 5\.5\.1 /);
  assert.match(await wire.command('QUIT'), /^221 /);
  await wire.closed;
});

test('RCPT: account, alias and catch-all accepted; unknown user 550; other domain 554 (no relay); too many 452', async (t) => {
  const wire = await session(t);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command('MAIL FROM:<someone@remote.test>'), /^250 /);
  assert.equal(await wire.command('RCPT TO:<demo@example.test>'), '250 2.1.5 Accepted');
  assert.equal(await wire.command('RCPT TO:<Sales@EXAMPLE.test>'), '250 2.1.5 Accepted');
  assert.equal(await wire.command('RCPT TO:<nobody@example.test>'), '550 5.1.1 No such user here');
  assert.equal(await wire.command('RCPT TO:<victim@elsewhere.test>'), '554 5.7.1 Relay access denied');
  assert.equal(await wire.command('RCPT TO:<anything@catchall.test>'), '250 2.1.5 Accepted');
  // maxRecipients is 3 here (RFC 5321 §4.5.3.1.10)
  assert.match(await wire.command('RCPT TO:<more@catchall.test>'), /^452 4\.5\.3 /);
  assert.match(await wire.command('DATA'), /^354 /);
  const reply = await wire.command('Subject: three\r\n\r\nhi\r\n.');
  const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(reply)?.[1];
  assert.ok(id, reply);
  let event;
  for (let i = 0; i < 5 && !event; i++) event = (await receiveInbound(world.world, 1)).find((e) => e.id === id);
  assert.deepEqual(event?.rcptTo, ['demo@example.test', 'Sales@example.test', 'anything@catchall.test']);
});

test('out of order: 503 for MAIL before EHLO, RCPT before MAIL, DATA before RCPT, nested MAIL', async (t) => {
  const wire = await session(t);
  assert.match(await wire.command('MAIL FROM:<a@remote.test>'), /^503 5\.5\.1 /);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  assert.match(await wire.command('RCPT TO:<demo@example.test>'), /^503 5\.5\.1 /);
  assert.match(await wire.command('DATA'), /^503 5\.5\.1 /);
  await expectReply(wire.command('MAIL FROM:<a@remote.test>'), /^250 /);
  assert.match(await wire.command('MAIL FROM:<b@remote.test>'), /^503 5\.5\.1 /);
  assert.match(await wire.command('DATA'), /^503 5\.5\.1 /);
});

test('syntax errors: 501 with enhanced codes', async (t) => {
  const wire = await session(t);
  assert.match(await wire.command('EHLO'), /^501 /);
  assert.match(await wire.command('HELO two words'), /^501 /);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  assert.match(await wire.command('MAIL FROM:nobrackets@remote.test'), /^501 5\.1\.7 /);
  assert.match(await wire.command('MAIL FROM:<a@remote.test> SIZE=abc'), /^501 5\.5\.4 /);
  await expectReply(wire.command('MAIL FROM:<a@remote.test>'), /^250 /);
  assert.match(await wire.command('RCPT TO:<>'), /^501 5\.1\.3 /);
  assert.match(await wire.command('RCPT TO:<no-domain>'), /^501 5\.1\.3 /);
});

test('MAIL SIZE= over the limit: 552 5.3.4 before any data is sent', async (t) => {
  const wire = await session(t);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  assert.match(await wire.command(`MAIL FROM:<a@remote.test> SIZE=${64 * 1024 + 1}`), /^552 5\.3\.4 /);
  assert.match(await wire.command(`MAIL FROM:<a@remote.test> SIZE=${1024}`), /^250 /);
});

test('unknown commands: 500; 8-bit garbage: 500; ten of them: 421 and the connection closes', async (t) => {
  const wire = await session(t);
  assert.match(await wire.command('FROBNICATE now'), /^500 5\.5\.2 /);
  wire.write(Buffer.from([0xff, 0xfe, 0x80, 0x00, 0xc3, 0x28, 0x0d, 0x0a]));
  assert.match(await wire.reply(), /^500 5\.5\.2 /);
  for (let i = 3; i <= 9; i++) assert.match(await wire.command(`\u00e9\u00e8${i}`), /^500 /);
  assert.match(await wire.command('JUNK 10'), /^421 /);
  await wire.closed;
});

test('a 1 MB command line gets an error and the connection closes; the edge keeps serving', async (t) => {
  const wire = await session(t);
  wire.write(`EHLO ${'a'.repeat(1024 * 1024)}\r\n`);
  assert.match(await wire.reply(), /^(421|500) /);
  await wire.closed;
  const again = await session(t);
  assert.match(await again.command('NOOP'), /^250 /);
});

test('an HTTP request on the SMTP port is refused with 421', async (t) => {
  const wire = await session(t);
  assert.match(await wire.command('GET / HTTP/1.1'), /^421 /);
  await wire.closed;
});

test('early talker: a client that sends before the greeting gets 421', async (t) => {
  const { wire } = await SmtpWire.connect(port, { waitGreeting: false });
  t.after(() => wire.destroy());
  wire.write('EHLO eager.test\r\nMAIL FROM:<a@remote.test>\r\n');
  const replies = [await wire.reply(), await wire.reply()];
  assert.ok(replies.some((r) => /^421 .*too soon/i.test(r)), replies.join(' | '));
  await wire.closed;
});

test('per-IP connection limit: the connection over the limit gets 421 4.7.0', async (t) => {
  // the limit is 6 here; the first six are greeted
  const wires: SmtpWire[] = [];
  t.after(() => { for (const w of wires) w.destroy(); });
  for (let i = 0; i < 6; i++) wires.push((await SmtpWire.connect(port)).wire);
  const { wire, greeting } = await SmtpWire.connect(port);
  wires.push(wire);
  assert.match(greeting, /^421 4\.7\.0 /);
  await wire.closed;
  // a slot freed is a slot usable again
  wires[0]!.destroy();
  await wires[0]!.closed;
  let greeted = '';
  for (let i = 0; i < 20 && !greeted.startsWith('220'); i++) {
    const next = await SmtpWire.connect(port);
    wires.push(next.wire);
    greeted = next.greeting;
  }
  assert.match(greeted, /^220 /);
});

test('idle timeout: a silent client gets 421 and is disconnected', async (t) => {
  const quick = await startSmtpEdge({ ...world.edgeOptions, limits: { ...world.edgeOptions.limits, idleTimeoutMs: 300 } });
  t.after(() => quick.close());
  const { wire, greeting } = await SmtpWire.connect(quick.ports.mx!);
  t.after(() => wire.destroy());
  assert.match(greeting, /^220 /);
  assert.match(await wire.reply(5000), /^421 .*[Tt]imeout/);
  await wire.closed;
});

test('a pipelined transaction (RFC 2920) gets one reply per command, in order', async (t) => {
  const wire = await openTransaction(port);
  t.after(() => wire.destroy());
  wire.write('RSET\r\nMAIL FROM:<p@remote.test>\r\nRCPT TO:<demo@example.test>\r\nRCPT TO:<x@elsewhere.test>\r\nDATA\r\n');
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push((await wire.reply()).slice(0, 3));
  assert.deepEqual(replies, ['250', '250', '250', '554', '354']);
  assert.match(await wire.command('Subject: p\r\n\r\npipelined\r\n.'), /^250 2\.0\.0 Ok: queued as /);
});
