// sendTransaction against peers that misbehave on purpose: every path settles within its step
// limit (RFC 5321 §4.5.3.2) or the deadline, as `host-failed`, `interrupted` or `answered`, with
// the server's words or a reason of ours, and nothing is accepted twice.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createSelfSignedCertificate, type TlsCredentials } from '../../../core/tls.ts';
import { sendTransaction, type SmtpTarget, type TransactionResult } from '../../../functions/relay/smtp-client.ts';
import type { SmtpTimeouts } from '../../../functions/relay/session-clock.ts';
import { close, HostileSmtp, reply, silent, trickle, type HostileScript } from './hostile-smtp.ts';

/** One second per step: a test that waits for a timeout waits about that long. */
const STEP_MS = 1000;
const FAST: SmtpTimeouts = { connectMs: STEP_MS, greetingMs: STEP_MS, commandMs: STEP_MS, dataStartMs: STEP_MS, dataBlockMs: STEP_MS, dataEndMs: STEP_MS };
/** Limits no test reaches: only the deadline can end the attempt. */
const SLOW: SmtpTimeouts = { connectMs: 60_000, greetingMs: 60_000, commandMs: 60_000, dataStartMs: 60_000, dataBlockMs: 60_000, dataEndMs: 60_000 };
/** A regression that never settles fails here instead of hanging the run. */
const LIMIT = { timeout: 20_000 };
/** Head-room for a loaded machine (2 cores shared with other test runs). */
const SLACK_MS = 1500;

const MESSAGE = Buffer.from('From: <a@here.test>\r\nTo: <b@there.test>\r\nSubject: hostile\r\n\r\nBody.\r\n');
const day = 24 * 3600_000;
const valid = () => createSelfSignedCertificate('smarthost.test', ['smarthost.test'], new Date(Date.now() - day), new Date(Date.now() + day));

const peers: HostileSmtp[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

async function peer(script: HostileScript = {}): Promise<HostileSmtp> {
  const p = new HostileSmtp(script);
  peers.push(p);
  await p.start();
  return p;
}

interface Run { result: TransactionResult; ms: number }

async function send(p: { port: number }, options: { target?: Partial<SmtpTarget>; timeouts?: SmtpTimeouts; deadlineMs?: number; recipients?: string[] } = {}): Promise<Run> {
  const started = Date.now();
  const result = await sendTransaction({
    target: { name: 'smarthost.test', address: '127.0.0.1', port: p.port, secure: false, requireTls: false, verifyCertificate: false, ...options.target },
    heloName: 'relay.test',
    mailFrom: 'a@here.test',
    recipients: options.recipients ?? ['b@there.test'],
    message: MESSAGE,
    timeouts: options.timeouts ?? FAST,
    deadline: started + (options.deadlineMs ?? 20_000),
  });
  return { result, ms: Date.now() - started };
}

function hostFailed(run: Run, pattern: RegExp, permanent = false): void {
  assert.equal(run.result.kind, 'host-failed', JSON.stringify(run.result));
  if (run.result.kind !== 'host-failed') return;
  assert.match(run.result.reply, pattern);
  assert.equal(run.result.permanent, permanent);
}

function interrupted(run: Run, pattern: RegExp): void {
  assert.equal(run.result.kind, 'interrupted', JSON.stringify(run.result));
  if (run.result.kind === 'interrupted') assert.match(run.result.reply, pattern);
}

/** Settled by the step limit: not before it, and not long after. */
function byStepLimit(run: Run, limit = STEP_MS): void {
  assert.ok(run.ms >= limit - 50 && run.ms < limit + SLACK_MS, `settled after ${run.ms} ms, limit ${limit} ms`);
}

const quick = (run: Run) => assert.ok(run.ms < SLACK_MS, `settled after ${run.ms} ms`);

test('polite peer: 250, one delivery, the bytes as sent', LIMIT, async () => {
  const p = await peer();
  const run = await send(p);
  assert.deepEqual(run.result, { kind: 'answered', replies: [{ address: 'b@there.test', class: 2, reply: '250 2.0.0 Ok: queued' }] });
  assert.equal(p.deliveries.length, 1);
  assert.ok(p.deliveries[0]!.data.equals(MESSAGE));
});

test('STARTTLS required but not offered (smtp-sink): host-failed at once, 4.7.4, the server words kept', LIMIT, async () => {
  const p = await peer({ command: (verb) => (verb === 'STARTTLS' ? reply('500 5.5.1 unknown command') : undefined) });
  const run = await send(p, { target: { requireTls: true, verifyCertificate: true } });
  hostFailed(run, /^451 4\.7\.4 smarthost\.test did not offer STARTTLS, which this relay requires for it \(STARTTLS answered: 500 5\.5\.1 unknown command\)$/);
  quick(run);
  assert.equal(p.deliveries.length, 0);
  assert.ok(!p.commands.some(([, line]) => line.startsWith('MAIL')), 'no envelope in plaintext');
});

test('STARTTLS offered, then refused with 454: host-failed with the server words', LIMIT, async () => {
  const p = await peer({ offerStartTls: true, command: (verb) => (verb === 'STARTTLS' ? reply('454 4.7.0 TLS not available due to local problem') : undefined) });
  hostFailed(await send(p, { target: { requireTls: true } }), /^451 4\.7\.4 smarthost\.test refused STARTTLS: 454 4\.7\.0 TLS not available/);
});

test('STARTTLS offered, then the handshake fails (no TLS behind 220): host-failed 4.7.5', LIMIT, async () => {
  const p = await peer({ offerStartTls: true, handshake: 'garbage' });
  const run = await send(p, { target: { requireTls: true, verifyCertificate: true } });
  hostFailed(run, /^451 4\.7\.5 TLS handshake with smarthost\.test failed: /);
  quick(run);
  assert.equal(p.deliveries.length, 0);
});

test('STARTTLS with a valid certificate: delivered over TLS', LIMIT, async () => {
  const tls = valid();
  const p = await peer({ tls, handshake: 'tls' });
  const run = await send(p, { target: { requireTls: true, verifyCertificate: true, trustedCa: tls.cert } });
  assert.equal(run.result.kind, 'answered', JSON.stringify(run.result));
  assert.equal(p.deliveries.length, 1);
  assert.deepEqual(p.commands.filter(([, l]) => l.startsWith('EHLO')).length, 2, 'EHLO again after STARTTLS (RFC 3207 §4.2)');
});

for (const [what, make, pattern] of [
  ['expired', (): TlsCredentials => createSelfSignedCertificate('smarthost.test', ['smarthost.test'], new Date(Date.now() - 3 * day), new Date(Date.now() - day)), /certificate has expired/i],
  ['wrong-name', (): TlsCredentials => createSelfSignedCertificate('other.test', ['other.test'], new Date(Date.now() - day), new Date(Date.now() + day)), /does not match|altnames/i],
] as const) {
  test(`STARTTLS with an ${what} certificate, verification on: host-failed 4.7.5, nothing sent`, LIMIT, async () => {
    const tls = make();
    const p = await peer({ tls, handshake: 'tls' });
    const run = await send(p, { target: { requireTls: true, verifyCertificate: true, trustedCa: tls.cert } });
    hostFailed(run, /^451 4\.7\.5 TLS handshake with smarthost\.test failed: /);
    assert.match((run.result as { reply: string }).reply, pattern);
    quick(run);
    assert.equal(p.deliveries.length, 0);
  });

  test(`implicit TLS with an ${what} certificate, verification on: host-failed 4.7.5`, LIMIT, async () => {
    const tls = make();
    const p = await peer({ tls, implicitTls: true });
    const run = await send(p, { target: { secure: true, verifyCertificate: true, trustedCa: tls.cert } });
    hostFailed(run, /^451 4\.7\.5 TLS handshake with smarthost\.test failed: /);
    assert.match((run.result as { reply: string }).reply, pattern);
    quick(run);
  });
}

test('closes right after the greeting: host-failed, closed while waiting for the reply to EHLO', LIMIT, async () => {
  const p = await peer({ command: (verb) => (verb === 'EHLO' ? close : undefined) });
  const run = await send(p);
  hostFailed(run, /^451 4\.4\.2 smarthost\.test closed the connection while waiting for the reply to EHLO$/);
  quick(run);
});

test('closes after EHLO (at MAIL FROM): interrupted, retried as a whole', LIMIT, async () => {
  const p = await peer({ command: (verb) => (verb === 'MAIL' ? close : undefined) });
  const run = await send(p);
  interrupted(run, /^451 4\.4\.2 smarthost\.test closed the connection while waiting for the reply to MAIL FROM$/);
  quick(run);
});

test('closes mid-DATA: interrupted, nothing delivered', LIMIT, async () => {
  const p = await peer({ midData: close });
  const run = await send(p);
  interrupted(run, /^451 4\.4\.2 /);
  quick(run);
  assert.equal(p.deliveries.length, 0);
});

test('closes after the final dot without a reply: interrupted (RFC 1047 window), nothing recorded as delivered', LIMIT, async () => {
  const p = await peer({ afterDot: () => close });
  const run = await send(p);
  interrupted(run, /^451 4\.4\.2 smarthost\.test closed the connection while waiting for the reply to the final dot$/);
  quick(run);
  assert.equal(p.deliveries.length, 0);
});

test('never greets: host-failed after the greeting limit', LIMIT, async () => {
  const p = await peer({ greeting: silent });
  const run = await send(p);
  hostFailed(run, /^451 4\.4\.2 smarthost\.test timed out after 1 s while waiting for the greeting$/);
  byStepLimit(run);
});

test('greets, then silent: host-failed after the EHLO limit', LIMIT, async () => {
  const p = await peer({ command: () => silent });
  const run = await send(p);
  hostFailed(run, /^451 4\.4\.2 smarthost\.test timed out after 1 s while waiting for the reply to EHLO$/);
  byStepLimit(run);
});

test('silent after the final dot: interrupted after the final-dot limit', LIMIT, async () => {
  const p = await peer({ afterDot: () => silent });
  const run = await send(p, { timeouts: { ...FAST, dataEndMs: 1500 } });
  interrupted(run, /^451 4\.4\.2 smarthost\.test timed out after 1\.5 s while waiting for the reply to the final dot$/);
  byStepLimit(run, 1500);
});

test('421 to everything: host-failed with the server words, temporary', LIMIT, async () => {
  const p = await peer({ greeting: reply('421 4.3.2 Service shutting down'), command: () => reply('421 4.3.2 Service shutting down') });
  const run = await send(p);
  hostFailed(run, /^421 4\.3\.2 Service shutting down$/);
  quick(run);
  const q = await peer({ command: () => reply('421 4.3.2 Too busy') });
  hostFailed(await send(q), /^421 4\.3\.2 Too busy$/);
});

test('5xx at RCPT for one of two recipients: answered per recipient, one delivery', LIMIT, async () => {
  const p = await peer({ command: (verb, line) => (verb === 'RCPT' && line.includes('gone@') ? reply('550 5.1.1 No such user') : undefined) });
  const run = await send(p, { recipients: ['b@there.test', 'gone@there.test'] });
  assert.deepEqual(run.result, {
    kind: 'answered',
    replies: [
      { address: 'b@there.test', class: 2, reply: '250 2.0.0 Ok: queued' },
      { address: 'gone@there.test', class: 5, reply: '550 5.1.1 No such user' },
    ],
  });
  assert.equal(p.deliveries.length, 1);
  assert.deepEqual(p.deliveries[0]!.recipients, ['b@there.test']);
});

test('a reply at 1 byte/s: the step limit holds although bytes keep coming', LIMIT, async () => {
  const p = await peer({ greeting: trickle('220 hostile.test ESMTP slowly', 1) });
  const run = await send(p, { timeouts: { ...FAST, greetingMs: 2500 } });
  hostFailed(run, /timed out after 2\.5 s while waiting for the greeting$/);
  byStepLimit(run, 2500);
  const q = await peer({ command: (verb) => (verb === 'RCPT' ? trickle('250 2.1.5 Ok', 1) : undefined) });
  interrupted(await send(q), /timed out after 1 s while waiting for the reply to RCPT TO$/);
  assert.equal(q.deliveries.length, 0);
});

test('the deadline ends any step: host-failed 4.4.7 before the greeting, interrupted after the final dot', LIMIT, async () => {
  const p = await peer({ greeting: silent });
  const early = await send(p, { timeouts: SLOW, deadlineMs: 1500 });
  hostFailed(early, /^451 4\.4\.7 Delivery attempt to smarthost\.test stopped at its deadline \(the function's remaining time\) while waiting for the greeting$/);
  byStepLimit(early, 1500);
  const q = await peer({ afterDot: () => silent });
  const late = await send(q, { timeouts: SLOW, deadlineMs: 1500 });
  interrupted(late, /^451 4\.4\.7 .* while waiting for the reply to the final dot/);
  byStepLimit(late, 1500);
});

test('AUTH accepted: delivered, the steps after AUTH timed as usual', LIMIT, async () => {
  const p = await peer({ extensions: ['AUTH PLAIN LOGIN'], command: (verb) => (verb === 'AUTH' ? reply('235 2.7.0 Authentication successful') : undefined) });
  const run = await send(p, { target: { auth: { user: 'relay', pass: 'secret' } } });
  assert.equal(run.result.kind, 'answered', JSON.stringify(run.result));
  assert.equal(p.deliveries.length, 1);
  quick(run);
});

test('AUTH refused with 535: host-failed, temporary (a smarthost credentials problem is no reason to bounce)', LIMIT, async () => {
  const p = await peer({ extensions: ['AUTH PLAIN LOGIN'], command: (verb) => (verb === 'AUTH' ? reply('535 5.7.8 Authentication credentials invalid') : undefined) });
  const run = await send(p, { target: { auth: { user: 'relay', pass: 'wrong' } } });
  hostFailed(run, /^451 4\.7\.8 smarthost\.test did not accept the relay's credentials: 535 5\.7\.8 Authentication credentials invalid$/);
  quick(run);
});

test('silent after AUTH: host-failed at the command limit', LIMIT, async () => {
  const p = await peer({ extensions: ['AUTH PLAIN LOGIN'], command: (verb) => (verb === 'AUTH' ? silent : undefined) });
  const run = await send(p, { target: { auth: { user: 'relay', pass: 'secret' } } });
  hostFailed(run, /^451 4\.4\.2 smarthost\.test timed out after 1 s while waiting for the reply to AUTH$/);
  byStepLimit(run);
});

test('nobody listening: host-failed 4.4.1 at once', LIMIT, async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const run = await send({ port });
  hostFailed(run, /^451 4\.4\.1 Connect to smarthost\.test:\d+ failed: ECONNREFUSED/);
  quick(run);
});
