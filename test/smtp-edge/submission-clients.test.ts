// Submission end to end with clients nobody here wrote: Python's smtplib (587 STARTTLS, 465
// SMTP_SSL), swaks (AUTH PLAIN/LOGIN with --tls and --tlsc) and curl (--ssl-reqd --user).
// The event carries the authenticated user and the remote recipients; Received: says ESMTPSA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO, inboundEvent, rawKeys, requireSwaks, run, spawnEdgeProcess, splitTrace, startEdgeWorld, startSubmissionEdge, SmtpWire, type EdgeWorld,
} from './helpers.ts';
import { startSmtpEdge, type SmtpEdge } from '../../smtp-edge/server.ts';

let world: EdgeWorld;
let edge: SmtpEdge;
let submission: number;
let submissions: number;

before(async () => {
  world = await startEdgeWorld();
  edge = await startSmtpEdge({
    ...world.edgeOptions,
    listeners: [
      { name: 'submission', role: 'submission', port: 0, host: '127.0.0.1' },
      { name: 'submissions', role: 'submissions', port: 0, host: '127.0.0.1' },
    ],
  });
  submission = edge.ports.submission!;
  submissions = edge.ports.submissions!;
});
after(async () => {
  await edge?.close();
  await world?.close();
});

function message(tag: string): Buffer {
  return Buffer.from(
    `From: Demo <demo@example.test>\r\nTo: friend@remote.test, sales@example.test\r\nSubject: ${tag}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\nHello from ${tag}.\r\n.dotted line\r\n`,
    'utf8',
  );
}

/** The event and blob of a submitted message: authenticated, remote recipients carried, ESMTPSA. */
async function verifySubmitted(id: string, expected: { body: Buffer; helo: string; rcptTo: string[]; from?: string }): Promise<string> {
  const event = await inboundEvent(world.world, id);
  assert.equal(event.authenticatedUser, DEMO.user);
  assert.equal(event.mailFrom, expected.from ?? DEMO.user);
  assert.deepEqual(event.rcptTo, expected.rcptTo);
  assert.equal(event.remote.ip, '127.0.0.1');
  assert.match(event.remote.tls?.protocol ?? '', /^TLSv1\.[23]$/);
  const { returnPath, received, rest } = splitTrace(await world.blobs.getBuffer(event.key));
  assert.deepEqual(rest, expected.body, 'the client bytes are stored exactly');
  assert.equal(returnPath, `Return-Path: <${expected.from ?? DEMO.user}>`);
  // RFC 3848: ESMTPSA; no reverse DNS is looked up for submission, the IP literal stays
  assert.match(received, new RegExp(`^Received: from ${expected.helo.replace(/\./g, '\\.')} \\(\\[127\\.0\\.0\\.1\\]\\)\r\n`));
  assert.match(received, new RegExp(`\tby mx\\.test\\.local with ESMTPSA id ${id}`));
  return received;
}

const SMTPLIB = `
import smtplib, ssl, sys
port, mode, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = sys.stdin.buffer.read()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    s = smtplib.SMTP_SSL('127.0.0.1', port, local_hostname='py.client.test', timeout=20, context=ctx)
    s.ehlo('py.client.test')
else:
    s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.client.test', timeout=20)
    s.ehlo('py.client.test')
    if mode == 'starttls':
        s.starttls(context=ctx)
        s.ehlo('py.client.test')
try:
    print(s.login(user, password))
except (smtplib.SMTPNotSupportedError, smtplib.SMTPAuthenticationError) as e:
    print('LOGIN-REFUSED', type(e).__name__, e)
    try:
        s.sendmail(user, ['friend@remote.test'], body)
    except smtplib.SMTPSenderRefused as e:
        print('SENDER-REFUSED', e.smtp_code, e.smtp_error.decode())
    sys.exit(0)
try:
    print(s.mail(user))
    print(s.rcpt('friend@remote.test'))
    print(s.rcpt('sales@example.test'))
    code, text = s.data(body)
    print(code, text.decode())
except smtplib.SMTPException as e:
    print('REFUSED', e)
s.quit()
`;

const queuedId = (text: string) => /^250 2\.0\.0 Ok: queued as (\S+)$/m.exec(text)?.[1];

test('python smtplib on 587: STARTTLS, login, remote and local recipients; the event has the user', async () => {
  const body = message('smtplib 587');
  const out = await run('python3', ['-c', SMTPLIB, String(submission), 'starttls', DEMO.user, DEMO.password], body);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^\(235, b'2\.7\.0 Authentication successful'\)$/m);
  const id = queuedId(out.stdout);
  assert.ok(id, out.stdout);
  await verifySubmitted(id, { body, helo: 'py.client.test', rcptTo: ['friend@remote.test', 'sales@example.test'] });
});

test('python smtplib SMTP_SSL on 465 (implicit TLS)', async () => {
  const body = message('smtplib 465');
  const out = await run('python3', ['-c', SMTPLIB, String(submissions), 'ssl', DEMO.user, DEMO.password], body);
  assert.equal(out.code, 0, out.stderr);
  const id = queuedId(out.stdout);
  assert.ok(id, out.stdout);
  await verifySubmitted(id, { body, helo: 'py.client.test', rcptTo: ['friend@remote.test', 'sales@example.test'] });
});

test('python smtplib on 587 without STARTTLS: no AUTH to log in with, and mail is refused 530 5.7.0', async () => {
  const out = await run('python3', ['-c', SMTPLIB, String(submission), 'plain', DEMO.user, DEMO.password], message('cleartext'));
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^LOGIN-REFUSED SMTPNotSupportedError SMTP AUTH extension not supported by server\.$/m);
  assert.match(out.stdout, /^SENDER-REFUSED 530 5\.7\.0 Authentication required$/m);
});

test('python smtplib with a wrong password: 535 5.7.8', async () => {
  const out = await run('python3', ['-c', SMTPLIB, String(submissions), 'ssl', DEMO.user, 'not the password'], message('wrong'));
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^LOGIN-REFUSED SMTPAuthenticationError \(535, b'5\.7\.8 Authentication credentials invalid'\)$/m);
  assert.match(out.stdout, /^SENDER-REFUSED 530 5\.7\.0 Authentication required$/m);
});

for (const variant of [
  { name: 'AUTH PLAIN with --tls on 587', port: () => submission, args: ['--auth', 'PLAIN', '--tls'] },
  { name: 'AUTH LOGIN with --tlsc on 465', port: () => submissions, args: ['--auth', 'LOGIN', '--tlsc'] },
]) {
  test(`swaks ${variant.name}`, async () => {
    const swaks = requireSwaks();
    const body = message(`swaks ${variant.name}`);
    const out = await run(swaks, [
      '--server', '127.0.0.1', '--port', String(variant.port()), '--helo', 'swaks.client.test',
      '--from', 'sales@example.test', '--to', 'friend@remote.test', '--data', '-',
      '--auth-user', DEMO.user, '--auth-password', DEMO.password, ...variant.args,
    // swaks always puts CRLF before the final dot, so it gets the body without its last CRLF
    ], body.subarray(0, body.length - 2));
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^<~ +235 2\.7\.0 Authentication successful$/m);
    const id = /^<~ +250 2\.0\.0 Ok: queued as (\S+)$/m.exec(out.stdout)?.[1];
    assert.ok(id, out.stdout);
    await verifySubmitted(id, { body, helo: 'swaks.client.test', rcptTo: ['friend@remote.test'], from: 'sales@example.test' });
  });
}

test('swaks forging another account as sender: 553 5.7.1', async () => {
  await world.directory.addAccount('victim@example.test', 'victim password');
  const swaks = requireSwaks();
  const out = await run(swaks, [
    '--server', '127.0.0.1', '--port', String(submissions), '--tlsc', '--helo', 'swaks.client.test',
    '--auth', 'PLAIN', '--auth-user', DEMO.user, '--auth-password', DEMO.password,
    '--from', 'victim@example.test', '--to', 'friend@remote.test', '--body', 'forged',
  ]);
  assert.notEqual(out.code, 0);
  // `<~*`: a failure reply read over TLS
  assert.match(out.stdout, /^<~\* +553 5\.7\.1 Sender address <victim@example\.test> is not owned by the authenticated user$/m);
});

/** swaks on 465 as demo, envelope sender demo; `extra` adds or replaces header fields. */
function swaksAsDemo(extra: string[], body = 'header test'): Promise<{ code: number | null; stdout: string }> {
  return run(requireSwaks(), [
    '--server', '127.0.0.1', '--port', String(submissions), '--tlsc', '--helo', 'swaks.client.test',
    '--auth', 'PLAIN', '--auth-user', DEMO.user, '--auth-password', DEMO.password,
    '--from', DEMO.user, '--to', 'friend@remote.test', '--body', body, ...extra,
  ]);
}

test('swaks with From: another hosted domain (boss@other.test): 553 5.7.1 at the end of DATA, nothing stored (so nothing queued)', async () => {
  if (!(await world.directory.isLocalDomain('other.test'))) {
    await world.directory.addDomain('other.test');
    await world.directory.addAccount('boss@other.test', 'boss password');
  }
  const before = await rawKeys(world.world);
  const out = await swaksAsDemo(['--header', 'From: The Boss <boss@other.test>']);
  assert.notEqual(out.code, 0);
  // MAIL FROM (demo) was fine; the header is only known at the end of DATA, so that is where it is refused
  assert.match(out.stdout, /^<~ +250 2\.1\.0 /m);
  assert.match(out.stdout, /^<~\* +553 5\.7\.1 From: address <boss@other\.test> is not one the authenticated user may use$/m);
  assert.deepEqual(await rawKeys(world.world), before, 'no blob');
  const sender = await swaksAsDemo(['--add-header', 'Sender: boss@other.test']);
  assert.match(sender.stdout, /^<~\* +553 5\.7\.1 Sender: address <boss@other\.test> /m, 'a forged Sender: too');
  const second = await swaksAsDemo(['--add-header', 'From: boss@other.test']);
  assert.match(second.stdout, /^<~\* +554 5\.6\.0 /m, 'a second From: field');
});

test('swaks with From: an alias of the account, or an address of a domain an administrator allowed: accepted', async () => {
  const alias = await swaksAsDemo(['--header', 'From: Sales <sales@example.test>']);
  assert.equal(alias.code, 0, alias.stdout);
  assert.match(alias.stdout, /^<~ +250 2\.0\.0 Ok: queued as /m);
  const refused = await swaksAsDemo(['--header', 'From: news@partner.test']);
  assert.match(refused.stdout, /^<~\* +553 5\.7\.1 /m);
  await world.directory.setSendAsDomains!(DEMO.user, ['partner.test']);
  try {
    const allowed = await swaksAsDemo(['--header', 'From: news@partner.test']);
    assert.equal(allowed.code, 0, allowed.stdout);
  } finally {
    await world.directory.setSendAsDomains!(DEMO.user, []);
  }
});

test('swaks with a forged Return-Path and a Received claiming our host: both removed, other trace kept, the rest byte for byte', async () => {
  const out = await swaksAsDemo([
    '--add-header', 'Return-Path: <boss@other.test>',
    '--add-header', 'Received: from trusted.internal by mx.test.local with ESMTPSA id forged; Fri, 20 Nov 2026 10:00:00 +0000',
    '--add-header', 'Received: from laptop by relay.isp.test; Fri, 20 Nov 2026 09:59:00 +0000',
  ], 'trace test');
  assert.equal(out.code, 0, out.stdout);
  const id = /^<~ +250 2\.0\.0 Ok: queued as (\S+)$/m.exec(out.stdout)?.[1];
  assert.ok(id, out.stdout);
  const event = await inboundEvent(world.world, id);
  const { returnPath, received, rest } = splitTrace(await world.blobs.getBuffer(event.key));
  assert.equal(returnPath, `Return-Path: <${DEMO.user}>`, 'ours, on top');
  assert.match(received, /by mx\.test\.local with ESMTPSA id /);
  const text = rest.toString('latin1');
  assert.doesNotMatch(text, /^Return-Path:/im);
  assert.doesNotMatch(text, /forged/);
  assert.match(text, /^Received: from laptop by relay\.isp\.test; /m, 'a Received of another host stays');
  assert.match(text, /^From: demo@example\.test\r$/m);
  assert.match(text, /\r\n\r\ntrace test\r\n/);
});

for (const mode of ['smtp:// with --ssl-reqd on 587', 'smtps:// on 465'] as const) {
  test(`curl ${mode} --user`, async () => {
    const body = message(`curl ${mode}`);
    const url = mode.startsWith('smtps') ? `smtps://127.0.0.1:${submissions}/curl.client.test` : `smtp://127.0.0.1:${submission}/curl.client.test`;
    const out = await run('curl', [
      '-sS', '-v', url, '-k', '--ssl-reqd', '--user', `${DEMO.user}:${DEMO.password}`,
      '--mail-from', DEMO.user, '--mail-rcpt', 'friend@remote.test', '-T', '-',
    ], body);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /^< 235 2\.7\.0 Authentication successful\r?$/m);
    const id = /^< 250 2\.0\.0 Ok: queued as (\S+)\r?$/m.exec(out.stderr)?.[1];
    assert.ok(id, out.stderr);
    await verifySubmitted(id, { body, helo: 'curl.client.test', rcptTo: ['friend@remote.test'] });
  });
}

test('curl to 587 with --user but no TLS: the login is refused and nothing is sent', async () => {
  const out = await run('curl', [
    '-sS', '-v', `smtp://127.0.0.1:${submission}/curl.client.test`, '--user', `${DEMO.user}:${DEMO.password}`,
    '--mail-from', DEMO.user, '--mail-rcpt', 'friend@remote.test', '-T', '-',
  ], message('curl cleartext'));
  assert.notEqual(out.code, 0);
  assert.doesNotMatch(out.stderr, /> AUTH/);
  assert.match(out.stderr, /^< 530 5\.7\.0 Authentication required\r?$/m);
});

test('privacy setting: the client IP is left out of Received:, the event keeps it', async (t) => {
  const hidden = await startSubmissionEdge(t, world, { submission: { ...world.edgeOptions.submission!, hideClientIp: true } });
  const body = message('hidden ip');
  const out = await run('python3', ['-c', SMTPLIB, String(hidden.submissions), 'ssl', DEMO.user, DEMO.password], body);
  assert.equal(out.code, 0, out.stderr);
  const id = queuedId(out.stdout);
  assert.ok(id, out.stdout);
  const event = await inboundEvent(world.world, id);
  assert.equal(event.remote.ip, '127.0.0.1');
  const { received } = splitTrace(await world.blobs.getBuffer(event.key));
  assert.match(received, /^Received: from py\.client\.test\r\n/);
  assert.doesNotMatch(received, /127\.0\.0\.1/);
  assert.match(received, /with ESMTPSA id /);
});

test('smtp-edge/main.ts opens 587/465 from SMTP_SUBMISSION_PORT and SMTP_SMTPS_PORT and names them in its ready line', async (t) => {
  const proc = await spawnEdgeProcess(t, world, { SMTP_SUBMISSION_PORT: '0', SMTP_SMTPS_PORT: '0', SUBMISSION_MAX_RECIPIENTS: '1' });
  const ready = await proc.waitFor('ready');
  const ports = ready.ports as Record<string, number>;
  assert.deepEqual(Object.keys(ports).sort(), ['mx', 'submission', 'submissions']);
  const { wire } = await SmtpWire.connectTls(ports.submissions!);
  t.after(() => wire.destroy());
  assert.match(await wire.command('EHLO client.test'), /^250[- ]AUTH PLAIN LOGIN$/m);
  assert.equal(await wire.command(`AUTH LOGIN ${Buffer.from(DEMO.user).toString('base64')}`), '334 UGFzc3dvcmQ6');
  assert.equal(await wire.command(Buffer.from(DEMO.password).toString('base64')), '235 2.7.0 Authentication successful');
  assert.match(await wire.command(`MAIL FROM:<${DEMO.user}>`), /^250 /);
  assert.match(await wire.command('RCPT TO:<one@remote.test>'), /^250 /);
  assert.match(await wire.command('RCPT TO:<two@remote.test>'), /^452 4\.5\.3 /);
  const { wire: plain } = await SmtpWire.connect(ports.submission!);
  t.after(() => plain.destroy());
  assert.doesNotMatch(await plain.command('EHLO client.test'), /AUTH/);
});
