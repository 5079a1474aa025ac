// The MX verifies mail from outside before its 250 (smtp-edge/authentication.ts), driven by
// Python's smtplib and swaks against an edge whose DNS is the test's zones: the
// Authentication-Results on top of every stored message, a forged field of ours removed, DMARC
// p=reject and a forged From: of our own domain refused at the end of DATA with nothing stored,
// p=quarantine marked in the event, DNS trouble recorded as temperror without losing mail, a
// large message still streamed, and submission left alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dkimSign } from 'mailauth';
import type { InboundEvent } from '../../core/contracts.ts';
import type { SmtpEdge } from '../../smtp-edge/server.ts';
import { startSmtpEdge } from '../../smtp-edge/server.ts';
import type { LogFields, ServiceLog } from '../../core/log.ts';
import { dkimKey, zoneResolver, type Zones } from '../helpers/dns-zones.ts';
import { DEMO, expectReply, inboundEvent, openTransaction, rawKeys, receiveInbound, requireSwaks, run, splitTrace, startEdgeWorld, type EdgeWorld } from './helpers.ts';

const HOST = 'mx.test.local';
const origin = dkimKey();
const ZONES: Zones = {
  // the test's clients connect from 127.0.0.1
  'origin.test': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
  'py.client.test': { TXT: 'v=spf1 ip4:127.0.0.1 -all' },
  'sel._domainkey.origin.test': { TXT: origin.record },
  '_dmarc.origin.test': { TXT: 'v=DMARC1; p=reject' },
  'bank.test': { TXT: 'v=spf1 ip4:192.0.2.1 -all' },
  '_dmarc.bank.test': { TXT: 'v=DMARC1; p=reject' },
  'shop.test': { TXT: 'v=spf1 ip4:192.0.2.1 ~all' },
  '_dmarc.shop.test': { TXT: 'v=DMARC1; p=quarantine' },
  'slow.test': { TXT: 'timeout' },
  '_dmarc.slow.test': { TXT: 'timeout' },
};

let world: EdgeWorld;
let edge: SmtpEdge;
let port: number;
let submission: number;
const logged: Array<[string, LogFields]> = [];
const log: ServiceLog = {
  info: (event, fields = {}) => logged.push([event, fields]),
  warn: (event, fields = {}) => logged.push([event, fields]),
  error: (event, fields = {}) => logged.push([event, fields]),
};

before(async () => {
  world = await startEdgeWorld({ mail: { maxMessageBytes: 16 * 1024 * 1024 } });
  edge = await startSmtpEdge({
    ...world.edgeOptions,
    listeners: [{ name: 'mx', role: 'mx', port: 0, host: '127.0.0.1' }, { name: 'submission', role: 'submission', port: 0, host: '127.0.0.1' }],
    authentication: { resolve: zoneResolver(ZONES).resolve, budgetMs: 500 },
    log,
  });
  port = edge.ports.mx!;
  submission = edge.ports.submission!;
});
after(async () => {
  await edge?.close();
  await world?.close();
});

/** smtplib sends one message; prints the DATA reply (a refusal too) as `code text`. */
const SMTPLIB = `
import smtplib, ssl, sys
port, mail_from, rcpt, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = sys.stdin.buffer.read()
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.client.test', timeout=60)
s.ehlo()
if mode == 'submission':
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo()
    s.login(sys.argv[5], sys.argv[6])
s.mail(mail_from)
s.rcpt(rcpt)
try:
    code, text = s.data(body)
except smtplib.SMTPDataError as e:
    code, text = e.smtp_code, e.smtp_error
print(code, text.decode())
s.quit()
`;

async function send(body: Buffer, mailFrom: string, options: { port?: number; login?: boolean } = {}): Promise<string> {
  const args = ['-c', SMTPLIB, String(options.port ?? port), mailFrom, 'demo@example.test', options.login ? 'submission' : 'mx', ...(options.login ? [DEMO.user, DEMO.password] : [])];
  const out = await run('python3', args, body, 60_000);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim();
}

const queuedId = (reply: string) => {
  const id = /^250 2\.0\.0 Ok: queued as (\S+)$/.exec(reply)?.[1];
  assert.ok(id, reply);
  return id;
};

async function stored(id: string): Promise<{ event: InboundEvent; results: string | null; rest: Buffer; blob: Buffer }> {
  const event = await inboundEvent(world.world, id);
  const blob = await world.blobs.getBuffer(event.key);
  assert.equal(event.size, blob.length, 'the event gives the stored size');
  const { authenticationResults, rest } = splitTrace(blob);
  return { event, results: authenticationResults, rest, blob };
}

function message(from: string, extraHeader = '', body = 'Hello there.\r\n'): Buffer {
  return Buffer.from(`${extraHeader}From: <${from}>\r\nTo: demo@example.test\r\nSubject: test\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@test>\r\n\r\n${body}`);
}

async function signedByOrigin(raw: Buffer): Promise<Buffer> {
  const signature = { signingDomain: 'origin.test', selector: 'sel', privateKey: origin.privateKey };
  const out = await dkimSign(raw, { ...signature, signatureData: [signature] });
  return Buffer.concat([Buffer.from(out.signatures), raw]);
}

test('every message from outside is stored behind the Authentication-Results the edge found, the client bytes exact', async () => {
  const body = await signedByOrigin(message('alice@origin.test'));
  const { event, results, rest } = await stored(queuedId(await send(body, 'alice@origin.test')));
  assert.deepEqual(rest, body);
  assert.equal(results, [
    `Authentication-Results: ${HOST};`,
    '\tspf=pass smtp.mailfrom=alice@origin.test;',
    '\tspf=pass smtp.helo=py.client.test;',
    '\tdkim=pass header.d=origin.test header.s=sel;',
    '\tdmarc=pass policy.dmarc=reject header.from=origin.test;',
    '\tarc=none',
  ].join('\r\n'));
  assert.deepEqual(event.authentication, { quarantine: false, reason: null, spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
  const line = logged.find(([e, f]) => e === 'smtp.message-authenticated' && f.id === event.id)?.[1];
  assert.deepEqual(
    line && [line.spf, line.spfHelo, line.dkim, line.dmarc, line.arc, line.action],
    ['pass', 'pass', 'pass', 'pass', 'none', 'accept'],
    'one log line with every verdict (the metric filters count these)',
  );
});

test('an Authentication-Results claiming our host name that came from outside is removed; another host\'s is kept', async () => {
  const spoofed = `Authentication-Results: ${HOST.toUpperCase()}.; dkim=pass header.d=bank.test;\r\n\tdmarc=pass header.from=bank.test\r\n`;
  const commented = `Authentication-Results: (looks official) ${HOST} 1; spf=pass\r\n`;
  const theirs = 'Authentication-Results: relay.elsewhere.test; spf=pass smtp.mailfrom=x@bank.test\r\n';
  const body = message('friend@nowhere.test', spoofed + theirs + commented);
  const { results, rest } = await stored(queuedId(await send(body, 'friend@nowhere.test')));
  assert.ok(results?.startsWith(`Authentication-Results: ${HOST};`));
  assert.deepEqual(rest.toString('latin1'), body.toString('latin1').replace(spoofed, '').replace(commented, ''));
  assert.ok(logged.some(([e, f]) => e === 'smtp.foreign-authentication-results-removed' && f.count === 2));
});

test('X-Spam-Flag, -Score, -Status and -Level from outside are removed, so every one a reader sees is our junk filter\'s', async () => {
  const verdicts = 'X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-10.0\r\n\ttests=ALL_TRUSTED\r\nx-spam-score: -10\r\nX-Spam-Level: \r\n';
  const kept = 'X-Spam-Report-Url: https://filter.elsewhere.test/r/1\r\n';
  const body = message('friend@nowhere.test', verdicts + kept);
  const { event, rest } = await stored(queuedId(await send(body, 'friend@nowhere.test')));
  assert.deepEqual(rest.toString('latin1'), body.toString('latin1').replace(verdicts, ''));
  assert.ok(logged.some(([e, f]) => e === 'smtp.foreign-spam-verdict-removed' && f.id === event.id && f.count === 4));
});

test('DMARC p=reject failing alignment: 550 5.7.1 at the end of DATA, nothing stored, nothing queued', async () => {
  const before = (await rawKeys(world.world)).length;
  const reply = await send(message('security@bank.test'), 'security@bank.test');
  assert.equal(reply, '550 5.7.1 Message rejected: it fails the DMARC policy of bank.test');
  assert.equal((await rawKeys(world.world)).length, before, 'no blob');
  assert.ok(!(await receiveInbound(world.world, 1)).some((e) => e.mailFrom === 'security@bank.test'), 'no event');
  assert.ok(logged.some(([e, f]) => e === 'smtp.message-authenticated' && f.action === 'reject' && f.reason === 'dmarc-reject' && f.dmarc === 'fail'));
});

test('a From: of one of our own domains that does not authenticate is refused with 550 5.7.1 (swaks)', async () => {
  const swaks = requireSwaks();
  const before = (await rawKeys(world.world)).length;
  const out = await run(swaks, ['--server', '127.0.0.1', '--port', String(port), '--helo', 'forger.test', '--from', 'boss@example.test', '--to', 'demo@example.test', '--h-Subject', 'wire the money']);
  assert.match(out.stdout, /^<\*\* +550 5\.7\.1 Message rejected: From: example\.test is our domain and this message is not authenticated by it$/m);
  assert.equal((await rawKeys(world.world)).length, before);
});

test('DMARC p=quarantine failing: accepted, and the event says quarantine', async () => {
  const { event, results } = await stored(queuedId(await send(message('offers@shop.test'), 'offers@shop.test')));
  assert.deepEqual(event.authentication, { quarantine: true, reason: 'dmarc-quarantine', spf: 'softfail', dkim: 'none', dmarc: 'fail', arc: 'none' });
  assert.match(results ?? '', /\tdmarc=fail policy\.dmarc=quarantine header\.from=shop\.test;/);
});

test('DNS that never answers: temperror recorded, the message accepted within the budget, not lost', async () => {
  const { event, results } = await stored(queuedId(await send(message('news@slow.test'), 'news@slow.test')));
  assert.match(results ?? '', /\tspf=temperror smtp\.mailfrom=news@slow\.test;/);
  assert.match(results ?? '', /\tdmarc=temperror header\.from=slow\.test;/);
  assert.equal(event.authentication?.quarantine, false);
});

test('a 12 MiB message streams through verification: DKIM passes, stored exactly, as a multipart upload', async () => {
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  const big = await signedByOrigin(message('alice@origin.test', '', line.repeat(Math.ceil((12 * 1024 * 1024) / line.length))));
  const { results, rest } = await stored(queuedId(await send(big, 'alice@origin.test')));
  assert.ok(rest.equals(big), 'byte for byte');
  assert.match(results ?? '', /\tdkim=pass header\.d=origin\.test header\.s=sel;/);
});

test('a header section longer than the part the MX holds back: 552 5.3.4, nothing stored, the session goes on', async (t) => {
  const before = (await rawKeys(world.world)).length;
  const wire = await openTransaction(port, 'demo@example.test', 'pad@nowhere.test');
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  const field = `X-Pad: ${'p'.repeat(990)}\r\n`;
  wire.write(field.repeat(Math.ceil((6 * 1024 * 1024) / field.length)) + '\r\nbody\r\n');
  assert.match(await wire.command('.'), /^552 5\.3\.4 Message header section exceeds 5242880 bytes/);
  assert.match(await wire.command('NOOP'), /^250 /);
  assert.equal((await rawKeys(world.world)).length, before);
});

test('submission is not checked as inbound: no Authentication-Results, no authentication in the event', async () => {
  const body = message(DEMO.user, 'Authentication-Results: somewhere.test; spf=pass\r\n');
  const { event, results, rest } = await stored(queuedId(await send(body, DEMO.user, { port: submission, login: true })));
  assert.equal(results, null);
  assert.equal(event.authentication, undefined);
  assert.equal(event.authenticatedUser, DEMO.user);
  assert.deepEqual(rest, body);
});
