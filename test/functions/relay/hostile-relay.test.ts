// The relay against peers that misbehave on purpose, through the real queues and the local event
// source: every attempt settles and is recorded with its reason, retries follow the policy until
// the (compressed) expiry bounces with a DSN, nothing is delivered twice, and no invocation
// overruns its function timeout.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import { QueueSender } from '../../../core/queues.ts';
import { enqueueOutbound, outboundIdFor } from '../../../core/outbound/enqueue.ts';
import type { OutboundEvent } from '../../../core/contracts.ts';
import type { SQSRecord } from 'aws-lambda';
import { createRelayBatchProcessor } from '../../../functions/relay/process-batch.ts';
import type { OutboundRecord } from '../../../core/outbound/queue-store.ts';
import type { SmtpTimeouts } from '../../../functions/relay/session-clock.ts';
import { eventually, outgoingMessage, relayRig, type RelayRig, type RelayRigOptions } from './helpers.ts';
import { close, HostileSmtp, reply, silent, trickle, type HostileScript } from './hostile-smtp.ts';
import { createSelfSignedCertificate } from '../../../core/tls.ts';

const STEP: SmtpTimeouts = { connectMs: 1000, greetingMs: 1000, commandMs: 1000, dataStartMs: 1000, dataBlockMs: 1000, dataEndMs: 1000 };
const LIMIT = { timeout: 60_000 };

let world: TestWorld;
let queues: QueueSender;

before(async () => {
  world = await startTestWorld();
  queues = new QueueSender(world.clients.sqs);
});
after(async () => {
  await world?.close();
});

const hex = () => randomBytes(4).toString('hex');

interface Scene { readonly rig: RelayRig; readonly peer: HostileSmtp; readonly alice: string; readonly remote: string }

/** A hostile peer as every domain's MX (or as the smarthost), a relay on it, alice as a local sender. */
async function scene(t: TestContext, script: HostileScript, options: RelayRigOptions = {}): Promise<Scene> {
  const peer = new HostileSmtp(script);
  t.after(() => peer.stop());
  await peer.start();
  const smarthost = options.config?.smarthost;
  // A smarthost is the peer too: its port is known once the peer listens.
  const rig = relayRig(world, peer, { ...options, config: { timeouts: STEP, ...options.config, ...(smarthost && smarthost.kind !== 'ses-api' ? { smarthost: { ...smarthost, port: peer.port } } : {}) } });
  rig.startRunners();
  t.after(() => rig.stopRunners());
  const local = `l${hex()}.test`;
  await rig.store.directory.addDomain(local);
  await rig.store.directory.addAccount(`alice@${local}`, 'pw-alice-123');
  return { rig, peer, alice: `alice@${local}`, remote: `r${hex()}.test` };
}

/** Submits as the edge would; returns the outbound id of the remote domain's delivery. */
async function submit(s: Scene, rcptTo: string[]): Promise<string> {
  const event = await storedEvent(s.rig.blobs, outgoingMessage(s.alice, rcptTo[0]!), rcptTo, { mailFrom: s.alice, authenticatedUser: s.alice, receivedAt: new Date().toISOString() });
  await queues.sendInbound(world.config.resources.queues.inbound, event);
  return outboundIdFor(event.id, s.remote);
}

async function finished(s: Scene, id: string): Promise<OutboundRecord> {
  const record = await eventually(async () => {
    const r = await s.rig.records.get(id);
    return r && ['delivered', 'bounced'].includes(r.state) ? r : undefined;
  }, `delivery ${id} to finish`, 40_000);
  await s.rig.drained(20_000);
  return record;
}

/** alice's DSNs, as text, with their Action. */
async function dsns(s: Scene) {
  const out = [];
  for (const m of await s.rig.store.mailStore.listMessages(s.alice, 'INBOX')) {
    const text = (await s.rig.blobs.getBuffer(m.blobKey)).toString('latin1');
    out.push({ text, action: /^Action: (\w+)\r$/m.exec(text)?.[1] });
  }
  return out;
}

function noOverrun(s: Scene): void {
  assert.ok(s.rig.relayBatches.length > 0, 'the relay ran');
  assert.deepEqual(s.rig.relayBatches.filter((b) => b.verdict !== 'success' && b.verdict !== 'partial').map((b) => `${b.verdict}: ${String(b.error)}`), []);
}

/** Every attempt recorded with `reason`, each logged as an error with host and reason and counted; then a failure DSN. */
function failedUntilExpiry(s: Scene, record: OutboundRecord, reason: RegExp, failures: Array<{ text: string; action: string | undefined }>, host = `mx.${s.remote}`): void {
  assert.equal(record.state, 'bounced');
  assert.ok(record.event.attempts.length >= 2, `retried (${record.event.attempts.length} attempts recorded)`);
  for (const a of record.event.attempts) assert.match(a.error, reason);
  const logged = s.rig.telemetry.logs.filter((l) => l.level === 'error' && l.message === 'delivery attempt failed' && l.fields.outboundId === record.id);
  // The expiring attempt is logged too, but leaves no retry copy, so it is not in the history.
  assert.equal(logged.length, record.event.attempts.length + 1);
  for (const l of logged) {
    assert.equal(l.fields.host, host);
    assert.equal(l.fields.address, '127.0.0.1');
    assert.match(String(l.fields.reason), reason);
  }
  const failed = failures.filter((d) => d.action === 'failed');
  assert.equal(failed.length, 1, 'one failure DSN');
  assert.match(failed[0]!.text, /^Status: 5\.4\.7\r$/m);
  assert.equal(s.peer.deliveries.length, 0);
}

test('smarthost without STARTTLS (the reported stall): each attempt recorded with its reason until expiry, then one DSN', LIMIT, async (t) => {
  const s = await scene(t, { command: (verb) => (verb === 'STARTTLS' ? reply('500 5.5.1 unknown command') : undefined) }, {
    config: { smarthost: { host: '127.0.0.1', port: 0, tls: 'starttls', verifyCertificate: true, secretArn: null, username: null, password: null } },
  });
  const id = await submit(s, [`bob@${s.remote}`]);
  const record = await finished(s, id);
  failedUntilExpiry(s, record, /^451 4\.7\.4 127\.0\.0\.1 did not offer STARTTLS/, await dsns(s), '127.0.0.1');
  assert.equal(s.rig.telemetry.count('AttemptsFailed'), record.event.attempts.length + 1);
  assert.ok(!s.peer.commands.some(([, l]) => l.startsWith('MAIL')), 'never sent in plaintext');
  noOverrun(s);
});

test('greets, then silent: attempts end at the EHLO limit, recorded, then one DSN', LIMIT, async (t) => {
  const s = await scene(t, { command: () => silent });
  const id = await submit(s, [`bob@${s.remote}`]);
  failedUntilExpiry(s, await finished(s, id), /^451 4\.4\.2 mx\.r[0-9a-f]+\.test timed out after 1 s while waiting for the reply to EHLO$/, await dsns(s));
  noOverrun(s);
});

test('421 to everything: deferred with the server words until expiry, then one DSN', LIMIT, async (t) => {
  const s = await scene(t, { greeting: reply('421 4.3.2 Service shutting down'), command: () => reply('421 4.3.2 Service shutting down') });
  const id = await submit(s, [`bob@${s.remote}`]);
  failedUntilExpiry(s, await finished(s, id), /^421 4\.3\.2 Service shutting down$/, await dsns(s));
  noOverrun(s);
});

test('silent after the final dot, and less Lambda time than the step limits: each attempt ends at the deadline, is recorded, and the expiry bounces', LIMIT, async (t) => {
  const s = await scene(t, { afterDot: () => silent }, {
    relayTimeoutSeconds: 3,
    config: { timeouts: { ...STEP, dataEndMs: 60_000 }, settleMarginMs: 1000 },
  });
  const id = await submit(s, [`bob@${s.remote}`]);
  failedUntilExpiry(s, await finished(s, id), /^451 4\.4\.7 Delivery attempt to mx\.r[0-9a-f]+\.test stopped at its deadline \(the function's remaining time\) while waiting for the reply to the final dot$/, await dsns(s));
  for (const b of s.rig.relayBatches) assert.ok(b.durationMs < 3000, `invocation took ${b.durationMs} ms of its 3000`);
  noOverrun(s);
});

test('closed after the final dot without a reply, then accepted: delivered exactly once, the first attempt on record', LIMIT, async (t) => {
  const s = await scene(t, { afterDot: ({ connection }) => (connection === 1 ? close : undefined) });
  const id = await submit(s, [`bob@${s.remote}`]);
  const record = await finished(s, id);
  assert.equal(record.state, 'delivered');
  assert.equal(record.event.attempts.length, 1);
  assert.match(record.event.attempts[0]!.error, /closed the connection while waiting for the reply to the final dot$/);
  assert.equal(s.peer.deliveries.length, 1);
  assert.deepEqual((await dsns(s)).length, 0);
  noOverrun(s);
});

test('5xx at RCPT for one of two recipients: one delivery, one DSN for the refused one', LIMIT, async (t) => {
  const s = await scene(t, { command: (verb, line) => (verb === 'RCPT' && line.includes('gone@') ? reply('550 5.1.1 No such user') : undefined) });
  const id = await submit(s, [`bob@${s.remote}`, `gone@${s.remote}`]);
  await finished(s, id);
  assert.equal(s.peer.deliveries.length, 1);
  assert.deepEqual(s.peer.deliveries[0]!.recipients, [`bob@${s.remote}`]);
  const reports = await dsns(s);
  assert.equal(reports.length, 1);
  assert.match(reports[0]!.text, new RegExp(`^Final-Recipient: rfc822; gone@${s.remote}\\r$`, 'm'));
  assert.doesNotMatch(reports[0]!.text, new RegExp(`Final-Recipient: rfc822; bob@`));
  assert.equal(s.rig.telemetry.count('AttemptsFailed'), 0, 'a refused recipient is an answer, not a failed attempt');
  noOverrun(s);
});

test('less time left than the settle margin: the attempt still ends inside the invocation, recorded with its reason', LIMIT, async (t) => {
  const s = await scene(t, { greeting: silent }, { config: { timeouts: { ...STEP, greetingMs: 60_000 }, settleMarginMs: 15_000 } });
  const inbound = await storedEvent(s.rig.blobs, outgoingMessage(s.alice, `bob@${s.remote}`), [`bob@${s.remote}`], { mailFrom: s.alice });
  const event: OutboundEvent = {
    version: 1, id: outboundIdFor(inbound.id, s.remote), inboundId: inbound.id, bucket: inbound.bucket, key: inbound.key, mailFrom: s.alice,
    domain: s.remote, recipients: [`bob@${s.remote}`], firstAttemptAt: new Date().toISOString(), attempts: [], sequence: 0,
  };
  // The record and the blob hold as the inbound function leaves them; this copy is handed over directly.
  await enqueueOutbound(event, { records: s.rig.records, blobRefs: s.rig.store.blobRefs, queue: { sendOutbound: async () => {} }, queueUrl: 'unused' });
  const record = { messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(event), attributes: { ApproximateReceiveCount: '1' } } as unknown as SQSRecord;
  const remainingMs = 800;
  const started = Date.now();
  const response = await createRelayBatchProcessor(s.rig.relayDeps)({ Records: [record] }, remainingMs);
  const ms = Date.now() - started;
  assert.deepEqual(response, { batchItemFailures: [] });
  assert.ok(ms < remainingMs, `settled after ${ms} ms of ${remainingMs}`);
  const after = await s.rig.records.get(event.id);
  assert.equal(after?.state, 'deferred');
  assert.match(after!.event.attempts[0]!.error, /^451 4\.4\.7 Delivery attempt to mx\.r[0-9a-f]+\.test stopped at its deadline .* while waiting for the greeting$/);
  // The retry copy (1 s later) would wait out a whole invocation here: cancelled, the relay drops it.
  assert.ok(await s.rig.records.cancel(event.id));
  await s.rig.drained(20_000);
  noOverrun(s);
});

const DAY = 24 * 3600_000;
const SMARTHOST = { host: '127.0.0.1', port: 0, tls: 'starttls' as const, verifyCertificate: true, secretArn: null, username: null, password: null };

/** The rest of the matrix, up to the first attempt: recorded with its reason, deferred by the policy, nothing delivered. */
const FIRST_ATTEMPTS: Array<[string, HostileScript, RegExp, RelayRigOptions?]> = [
  ['STARTTLS offered, then no TLS behind the 220', { offerStartTls: true, handshake: 'garbage' }, /^451 4\.7\.5 TLS handshake with 127\.0\.0\.1 failed: /, { config: { smarthost: SMARTHOST } }],
  ['an expired certificate, verification on', { handshake: 'tls', tls: createSelfSignedCertificate('127.0.0.1', ['127.0.0.1'], new Date(Date.now() - 3 * DAY), new Date(Date.now() - DAY)) }, /^451 4\.7\.5 TLS handshake with 127\.0\.0\.1 failed: /, { config: { smarthost: SMARTHOST } }],
  ['a wrong-name certificate, verification on', { handshake: 'tls', tls: createSelfSignedCertificate('other.test', ['other.test'], new Date(Date.now() - DAY), new Date(Date.now() + DAY)) }, /^451 4\.7\.5 TLS handshake with 127\.0\.0\.1 failed: /, { config: { smarthost: SMARTHOST } }],
  ['closes after the greeting', { command: (verb) => (verb === 'EHLO' ? close : undefined) }, /^451 4\.4\.2 mx\.\S+ closed the connection while waiting for the reply to EHLO$/],
  ['closes after EHLO', { command: (verb) => (verb === 'MAIL' ? close : undefined) }, /^451 4\.4\.2 mx\.\S+ closed the connection while waiting for the reply to MAIL FROM$/],
  ['closes mid-DATA', { midData: close }, /^451 4\.4\.2 mx\.\S+ /],
  ['never greets', { greeting: silent }, /^451 4\.4\.2 mx\.\S+ timed out after 1 s while waiting for the greeting$/],
  ['answers at 1 byte/s', { greeting: trickle('220 hostile.test ESMTP at one byte a second') }, /^451 4\.4\.2 mx\.\S+ timed out after 1 s while waiting for the greeting$/],
];

for (const [what, script, reason, options] of FIRST_ATTEMPTS) {
  test(`${what}: the first attempt settles, is recorded with its reason and deferred`, LIMIT, async (t) => {
    const s = await scene(t, script, { config: { ...options?.config } });
    const id = await submit(s, [`bob@${s.remote}`]);
    const record = await eventually(async () => {
      const r = await s.rig.records.get(id);
      return r && r.event.attempts.length > 0 ? r : undefined;
    }, 'the first attempt on record', 20_000);
    assert.equal(record.state, 'deferred');
    assert.match(record.event.attempts[0]!.error, reason);
    assert.equal(record.lastError, record.event.attempts[0]!.error);
    // FAST_POLICY: the first retry one second after the attempt.
    const wait = new Date(record.nextAttemptAt!).getTime() - new Date(record.event.attempts[0]!.at).getTime();
    assert.ok(wait >= 900 && wait <= 1100, `retry after ${wait} ms`);
    assert.equal(s.peer.deliveries.length, 0);
    assert.ok(s.rig.telemetry.count('AttemptsFailed') >= 1);
    assert.ok(await s.rig.records.cancel(id), 'the later retries are not this test\'s subject');
    await s.rig.drained(20_000);
    noOverrun(s);
  });
}
