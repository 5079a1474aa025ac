// mailctl queue and dkim as subprocesses against the emulators: the queue shows waiting mail and
// its last error, retry makes a new generation now, delete makes the relay drop it; dkim prints
// the public record only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import type { OutboundEvent } from '../../../core/contracts.ts';
import { deliverOutbound } from '../../../functions/relay/deliver-outbound.ts';
import { FakeMx, relayRig, type RelayRig } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../../cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

let world: TestWorld;
let mx: FakeMx;
let rig: RelayRig;
let dataDir: string;

before(async () => {
  world = await startTestWorld();
  mx = new FakeMx();
  await mx.start();
  rig = relayRig(world, mx);
  dataDir = mkdtempSync(join(tmpdir(), 'mailctl-relay-'));
  writeFileSync(join(dataDir, 'stack.json'), JSON.stringify({ config: world.config }));
});
after(async () => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await mx?.stop();
  await world?.close();
});

function mailctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, MAIN, '--data-dir', dataDir, ...args], { cwd: tmpdir(), timeout: 60_000, env: { ...process.env, MAIL_DATA_DIR: '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function deferredEvent(id: string): OutboundEvent {
  return {
    version: 1, id, inboundId: id, bucket: world.config.resources.bucket, key: `raw/2026/11/20/${id}.eml`,
    mailFrom: 'alice@here.test', domain: 'far.test', recipients: ['bob@far.test'],
    firstAttemptAt: '2026-11-20T10:00:00.000Z', attempts: [], sequence: 0,
  };
}

/** A delivery that failed once with 451 and waits for its retry, as the relay leaves it. */
async function waitingDelivery(id: string): Promise<OutboundEvent> {
  const first = deferredEvent(id);
  await rig.records.claim(first);
  const next = { ...first, sequence: 1, attempts: [{ at: '2026-11-20T10:00:05.000Z', error: '451 4.3.0 Greylisted', recipients: ['bob@far.test'] }] };
  assert.ok(await rig.records.advance(id, 0, { state: 'deferred', event: next, lastError: '451 4.3.0 Greylisted', nextAttemptAt: '2026-11-20T10:05:05.000Z' }));
  return next;
}

test('queue list and show: the waiting delivery with its last error', async () => {
  await waitingDelivery('list-show-0001');
  const list = await mailctl(['queue', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+STATE\s+FROM\s+RCPTS\s+ATTEMPTS\s+NEXT\s+LAST ERROR$/m);
  assert.match(list.stdout, /list-show-0001\s+deferred\s+alice@here\.test\s+1\s+1\s+2026-11-20 10:05:05Z\s+451 4\.3\.0 Greylisted/);
  const show = await mailctl(['queue', 'show', 'list-show-0001', '--json']);
  assert.equal(show.code, 0, show.stderr);
  const shown = JSON.parse(show.stdout);
  assert.equal(shown.state, 'deferred');
  assert.equal(shown.attempts[0].error, '451 4.3.0 Greylisted');
  const missing = await mailctl(['queue', 'show', 'nope-0000']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no outbound delivery nope-0000/);
});

test('queue retry puts a new generation on the queue now; the older copy becomes stale', async () => {
  const old = await waitingDelivery('retry-now-0001');
  const run = await mailctl(['queue', 'retry', 'retry-now-0001']);
  assert.equal(run.code, 0, run.stderr);
  const got = await world.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: world.config.resources.queues.outbound, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }));
  const bodies = (got.Messages ?? []).map((m) => JSON.parse(m.Body!) as OutboundEvent).filter((e) => e.id === 'retry-now-0001');
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0]!.sequence, 2);
  const record = await rig.records.get('retry-now-0001');
  assert.equal(record?.state, 'queued');
  assert.equal(record?.sequence, 2);
  // The copy that was waiting in SQS with the old generation is dropped by the relay.
  assert.equal(await deliverOutbound(old, rig.relayDeps, Date.now() + 5000), 'stale');
});

test('queue delete cancels: the relay drops the next copy without delivering or bouncing', async () => {
  const waiting = await waitingDelivery('delete-me-0001');
  const run = await mailctl(['queue', 'delete', 'delete-me-0001']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal((await rig.records.get('delete-me-0001'))?.state, 'cancelled');
  assert.equal(await deliverOutbound(waiting, rig.relayDeps, Date.now() + 5000), 'cancelled');
  assert.equal(mx.received.length, 0);
  const list = await mailctl(['queue', 'list']);
  assert.doesNotMatch(list.stdout, /delete-me-0001/);
  assert.match((await mailctl(['queue', 'list', '--all'])).stdout, /delete-me-0001\s+cancelled/);
  assert.notEqual((await mailctl(['queue', 'delete', 'delete-me-0001'])).code, 0, 'a second delete is refused');
});

test('dkim generate prints the TXT record (never the private key) and stores the key', async () => {
  await rig.store.directory.addDomain('signed.test');
  const run = await mailctl(['dkim', 'generate', 'signed.test']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^mail\._domainkey\.signed\.test\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+" "[A-Za-z0-9+/=]+"/m);
  assert.doesNotMatch(run.stdout + run.stderr, /PRIVATE KEY/);
  const key = await rig.dkim.get('signed.test');
  assert.match(key!.privateKeyPem, /BEGIN PRIVATE KEY/);
  assert.notEqual((await mailctl(['dkim', 'generate', 'signed.test'])).code, 0, 'an existing key is not replaced by accident');
  assert.equal((await mailctl(['dkim', 'generate', 'signed.test', '--replace', '--selector', 's2027'])).code, 0);
  assert.equal((await rig.dkim.get('signed.test'))!.selector, 's2027');
  assert.match((await mailctl(['dkim', 'list'])).stdout, /signed\.test\s+s2027/);
  assert.notEqual((await mailctl(['dkim', 'generate', 'notlocal.test'])).code, 0, 'only local domains get keys');
});
