// End to end with SMTP clients nobody here wrote: Python's smtplib, curl and swaks, each in
// cleartext and with STARTTLS. The blob must hold the client's bytes exactly, behind
// Return-Path and Received, and the inbound event must validate and describe it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rawBlobKey } from '../../core/blobs.ts';
import {
  CLIENT_RDNS, inboundEvent, QUEUED, requireSwaks, run, splitTrace, startEdgeWorld, type EdgeWorld,
} from './helpers.ts';
import { startSmtpEdge, type SmtpEdge } from '../../smtp-edge/server.ts';

let world: EdgeWorld;
let edge: SmtpEdge;
let port: number;

before(async () => {
  world = await startEdgeWorld();
  edge = await startSmtpEdge(world.edgeOptions);
  port = edge.ports.mx!;
});
after(async () => {
  await edge?.close();
  await world?.close();
});

/** CRLF lines, a line that needs dot-stuffing, 8-bit UTF-8: what must come back byte for byte. */
function message(tag: string): Buffer {
  return Buffer.from(
    `From: Sender <sender@remote.test>\r\nTo: demo@example.test\r\nSubject: ${tag}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n` +
    `Grüße from ${tag}.\r\n.a line that starts with a dot\r\n..two dots\r\n\r\nlast line\r\n`,
    'utf8',
  );
}

async function verifyDelivered(id: string, expected: { body: Buffer; from: string; helo: string; tls: boolean }): Promise<void> {
  const event = await inboundEvent(world.world, id);
  assert.equal(event.version, 1);
  assert.equal(event.bucket, world.world.config.resources.bucket);
  assert.equal(event.key, rawBlobKey(id, new Date(event.receivedAt)));
  assert.equal(event.mailFrom, expected.from);
  assert.deepEqual(event.rcptTo, ['demo@example.test']);
  assert.equal(event.remote.ip, '127.0.0.1');
  assert.equal(event.remote.helo, expected.helo);
  assert.equal(event.authenticatedUser, null);
  if (expected.tls) assert.match(event.remote.tls?.protocol ?? '', /^TLSv1\.[23]$/);
  else assert.equal(event.remote.tls, null);

  const blob = await world.blobs.getBuffer(event.key);
  assert.equal(event.size, blob.length);
  const { returnPath, received, rest } = splitTrace(blob);
  assert.deepEqual(rest, expected.body, 'the client bytes are stored exactly');
  assert.equal(returnPath, `Return-Path: <${expected.from}>`);
  assert.match(received, new RegExp(`^Received: from ${expected.helo.replace(/\./g, '\\.')} \\(${CLIENT_RDNS.replace(/\./g, '\\.')} \\[127\\.0\\.0\\.1\\]\\)\r\n`));
  assert.match(received, new RegExp(`\tby mx\\.test\\.local with ${expected.tls ? 'ESMTPS' : 'ESMTP'} id ${id}\r\n`));
  assert.match(received, /\tfor <demo@example\.test>; (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  if (expected.tls) assert.match(received, /\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\r\n/);
  else assert.doesNotMatch(received, /using/);
}

const SMTPLIB = `
import smtplib, ssl, sys
port, mode = int(sys.argv[1]), sys.argv[2]
body = sys.stdin.buffer.read()
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.client.test', timeout=20)
s.ehlo('py.client.test')
assert s.has_extn('starttls') and s.has_extn('size') and s.has_extn('8bitmime') and s.has_extn('smtputf8'), s.esmtp_features
if mode == 'starttls':
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo('py.client.test')
    assert not s.has_extn('starttls')
print(s.mail('py@remote.test', ['BODY=8BITMIME']))
print(s.rcpt('demo@example.test'))
code, text = s.data(body)
print(code, text.decode())
s.quit()
`;

for (const mode of ['plain', 'starttls'] as const) {
  test(`python smtplib delivers (${mode})`, async () => {
    const body = message(`smtplib ${mode}`);
    const out = await run('python3', ['-c', SMTPLIB, String(port), mode], body);
    assert.equal(out.code, 0, out.stderr);
    const id = /^250 2\.0\.0 Ok: queued as (\S+)$/m.exec(out.stdout)?.[1];
    assert.ok(id, out.stdout);
    await verifyDelivered(id, { body, from: 'py@remote.test', helo: 'py.client.test', tls: mode === 'starttls' });
  });

  test(`curl smtp:// delivers (${mode})`, async () => {
    const body = message(`curl ${mode}`);
    const out = await run('curl', [
      '-sS', '-v', `smtp://127.0.0.1:${port}/curl.client.test`,
      '--mail-from', 'curl@remote.test', '--mail-rcpt', 'demo@example.test', '-T', '-',
      ...(mode === 'starttls' ? ['--ssl-reqd', '-k'] : []),
    ], body);
    assert.equal(out.code, 0, out.stderr);
    const id = /^< 250 2\.0\.0 Ok: queued as (\S+)\r?$/m.exec(out.stderr)?.[1];
    assert.ok(id, out.stderr);
    if (mode === 'starttls') assert.match(out.stderr, /< 220 2\.0\.0 Ready to start TLS|< 220 .*TLS/i);
    await verifyDelivered(id, { body, from: 'curl@remote.test', helo: 'curl.client.test', tls: mode === 'starttls' });
  });

  test(`swaks delivers (${mode})`, async () => {
    const swaks = requireSwaks();
    const body = message(`swaks ${mode}`);
    const out = await run(swaks, [
      '--server', '127.0.0.1', '--port', String(port), '--helo', 'swaks.client.test',
      '--from', 'swaks@remote.test', '--to', 'demo@example.test', '--data', '-',
      ...(mode === 'starttls' ? ['--tls'] : []),
    // swaks always puts CRLF before the final dot, so it gets the body without its last CRLF
    ], body.subarray(0, body.length - 2));
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const id = /^<[-~] +250 2\.0\.0 Ok: queued as (\S+)$/m.exec(out.stdout)?.[1];
    assert.ok(id, out.stdout);
    if (mode === 'starttls') assert.match(out.stdout, /^<- +220 .*\n(.|\n)*=== TLS started/m);
    await verifyDelivered(id, { body, from: 'swaks@remote.test', helo: 'swaks.client.test', tls: mode === 'starttls' });
  });
}

test('the null reverse-path <> is accepted and recorded as an empty sender', async () => {
  const body = message('bounce');
  const out = await run('curl', ['-sS', '-v', `smtp://127.0.0.1:${port}/bouncer.test`, '--mail-from', '', '--mail-rcpt', 'sales@example.test', '-T', '-'], body);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /> MAIL FROM:<>/);
  const id = QUEUED.exec(out.stderr.replace(/^< /gm, '').replace(/\r/g, ''))?.[1];
  assert.ok(id, out.stderr);
  const event = await inboundEvent(world.world, id);
  assert.equal(event.mailFrom, '');
  assert.deepEqual(event.rcptTo, ['sales@example.test']);
  const { returnPath } = splitTrace(await world.blobs.getBuffer(event.key));
  assert.equal(returnPath, 'Return-Path: <>');
});
