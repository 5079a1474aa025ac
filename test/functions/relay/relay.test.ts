// The relay end to end on the emulators: inbound queues remote recipients, the relay delivers to a
// scripted fake MX, retries on 4xx, bounces on 5xx/expiry/null MX/loops with RFC 3464 DSNs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import type { TestWorld } from '../../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import type { QueueSender } from '../../../core/queues.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { generateDkimKey } from '../../../core/dkim.ts';
import type { InboundEvent } from '../../../core/contracts.ts';
import { outboundIdFor } from '../../../core/outbound/enqueue.ts';
import { fileInbound } from '../../../functions/inbound/file-inbound.ts';
import { dkimResultsWith, eventually, type FakeMx, outgoingMessage, type MxScript, type RelayRig, type RunningRelay, startRunningRelay } from './helpers.ts';

let world: TestWorld;
let mx: FakeMx;
let rig: RelayRig;
let queues: QueueSender;

let running: RunningRelay;

before(async () => {
  running = await startRunningRelay();
  ({ world, mx, rig, queues } = running);
});

after(() => running?.close());

const hex = () => randomBytes(4).toString('hex');

/** A local domain with account alice, and a remote domain whose MX follows `script`. */
async function scenario(script: MxScript = {}) {
  const local = `l${hex()}.test`;
  const remote = `r${hex()}.test`;
  await rig.store.directory.addDomain(local);
  await rig.store.directory.addAccount(`alice@${local}`, 'pw-alice-123');
  mx.scripts.set(remote, script);
  return { local, remote, alice: `alice@${local}` };
}

/** Submits `raw` from an authenticated alice as the edge would: blob in S3, event on the inbound queue. */
async function submit(raw: Buffer, from: string, rcptTo: string[], overrides: Partial<InboundEvent> = {}): Promise<InboundEvent> {
  const event = await storedEvent(rig.blobs, raw, rcptTo, { mailFrom: from, authenticatedUser: from, receivedAt: new Date().toISOString(), ...overrides });
  await queues.sendInbound(world.config.resources.queues.inbound, event);
  return event;
}

async function inbox(account: string) {
  return rig.store.mailStore.listMessages(account, 'INBOX');
}

/** The DSNs in `account`'s INBOX, parsed, with their delivery-status part as text. */
async function reports(account: string) {
  const out = [];
  for (const m of await inbox(account)) {
    const raw = await rig.blobs.getBuffer(m.blobKey);
    const parsed = await simpleParser(raw);
    out.push({ item: m, raw, parsed, status: raw.toString('latin1') });
  }
  return out;
}

test('delivered byte-exact with a DKIM signature that mailauth verifies', async () => {
  const { local, remote, alice } = await scenario();
  const key = generateDkimKey(local);
  await rig.dkim.put(key);
  const raw = outgoingMessage(alice, `bob@${remote}`);
  await submit(raw, alice, [`bob@${remote}`]);

  const [got] = await eventually(() => (mx.to(remote).length ? mx.to(remote) : undefined), 'delivery');
  assert.equal(got!.mailFrom, alice);
  assert.deepEqual(got!.rcptTo, [`bob@${remote}`]);
  assert.ok(got!.raw.subarray(0, 15).toString().startsWith('DKIM-Signature:'), 'signature prepended');
  assert.ok(got!.raw.subarray(got!.raw.length - raw.length).equals(raw), 'the original bytes follow unchanged');

  const results = await dkimResultsWith(got!.raw, key);
  assert.equal(results[0]?.status.result, 'pass', JSON.stringify(results[0]?.status));
  assert.equal(results[0]?.signingDomain, local);
});

/** The `d=` of every DKIM-Signature at the top of `raw`. */
function signingDomains(raw: Buffer): string[] {
  const head = raw.subarray(0, Math.max(0, raw.indexOf('\r\n\r\n'))).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  return [...head.matchAll(/^DKIM-Signature:.*?\bd=([^;\s]+)/gim)].map((m) => m[1]!.toLowerCase());
}

test('authenticated alice with From: boss@<another hosted domain>: signed with her own domain key, never with the other domain key', async () => {
  const { local, remote, alice } = await scenario();
  const other = `o${hex()}.test`;
  await rig.store.directory.addDomain(other);
  await rig.store.directory.addAccount(`boss@${other}`, 'pw-boss-123');
  await rig.dkim.put(generateDkimKey(local));
  await rig.dkim.put(generateDkimKey(other));
  await submit(outgoingMessage(`boss@${other}`, `bob@${remote}`, 'I am the boss'), alice, [`bob@${remote}`]);
  const [got] = await eventually(() => (mx.to(remote).length ? mx.to(remote) : undefined), 'delivery');
  assert.deepEqual(signingDomains(got!.raw), [local]);
});

test('internet mail to a local alias that forwards outside, with a forged From: of our domain, is not signed with its key; the same forward submitted by alice is', async () => {
  const { local, remote, alice } = await scenario();
  await rig.dkim.put(generateDkimKey(local));
  await rig.store.directory.addAlias(`fwd@${local}`, [`bob@${remote}`]);
  await submit(outgoingMessage(`someone@${local}`, `fwd@${local}`, 'Forged'), 'spoofer@elsewhere.test', [`fwd@${local}`], { authenticatedUser: null });
  const [forged] = await eventually(() => (mx.to(remote).length ? mx.to(remote) : undefined), 'forwarded delivery');
  assert.equal(forged!.raw.toString('latin1').match(/^Subject: (.*)$/m)?.[1]?.trim(), 'Forged');
  assert.deepEqual(signingDomains(forged!.raw), [], 'an unauthenticated message is not ours to sign');
  assert.ok(rig.telemetry.count('DkimUnsigned') >= 1);

  await submit(outgoingMessage(alice, `fwd@${local}`, 'From alice'), alice, [`fwd@${local}`]);
  const mine = await eventually(() => mx.to(remote).find((m) => m.raw.includes('Subject: From alice')), 'submitted forward');
  assert.deepEqual(signingDomains(mine.raw), [local]);
});

test('two 4xx then 250: delivered exactly once, the record says delivered after three attempts', async () => {
  const { remote, alice } = await scenario({ rcpt: (_a, n) => (n <= 2 ? '451 4.3.0 Try again later' : null) });
  const event = await submit(outgoingMessage(alice, `bob@${remote}`), alice, [`bob@${remote}`]);
  const id = outboundIdFor(event.id, remote);
  const record = await eventually(async () => {
    const r = await rig.records.get(id);
    return r?.state === 'delivered' ? r : undefined;
  }, 'delivered record');
  await rig.drained();
  assert.equal(mx.to(remote).length, 1, 'exactly one copy reached the MX');
  assert.equal(record.event.attempts.length, 2, 'two failed attempts in the history');
  assert.match(record.event.attempts[0]!.error, /^451 4\.3\.0/);
  assert.equal((await inbox(alice)).length, 0, 'no DSN for a delivered message');
});

test('550: a DSN in the local sender INBOX, a multipart/report with the three parts', async () => {
  const { remote, alice } = await scenario({ rcpt: () => '550 5.1.1 No such user here' });
  const raw = outgoingMessage(alice, `nobody@${remote}`, 'Doomed message');
  const event = await submit(raw, alice, [`nobody@${remote}`]);
  const [dsn] = await eventually(async () => ((await reports(alice)).length ? reports(alice) : undefined), 'DSN filed');
  assert.equal(mx.to(remote).length, 0);
  // Structure as the IMAP server will show it (the stored index) and as mailparser reads it.
  const structure = dsn!.item.index;
  assert.equal(structure.envelope.subject, 'Undelivered Mail Returned to Sender');
  const index = indexMessage(dsn!.raw);
  assert.deepEqual(JSON.parse(JSON.stringify(index)), JSON.parse(JSON.stringify(structure)));
  const ct = dsn!.parsed.headers.get('content-type') as { value: string; params: Record<string, string> };
  assert.equal(ct.value, 'multipart/report');
  assert.equal(ct.params['report-type'], 'delivery-status');
  assert.equal(dsn!.parsed.headers.get('auto-submitted'), 'auto-replied');
  assert.match(String((dsn!.parsed.from as { text: string }).text), /MAILER-DAEMON@mx\.test\.local/);
  const types = dsn!.status.match(/^Content-Type: [^;\r\n]+/gim)!.map((l) => l.slice(14).toLowerCase());
  // The fifth Content-Type is the original's, inside the attached headers.
  assert.deepEqual(types.slice(0, 4), ['multipart/report', 'text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  const body = index.body;
  assert.equal(body.kind, 'multipart');
  assert.equal(`${body.type}/${body.subtype}`, 'multipart/report');
  assert.deepEqual(body.kind === 'multipart' ? body.parts.map((p) => `${p.type}/${p.subtype}`) : [], ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  assert.equal(index.fallback, false);
  assert.match(dsn!.status, /^Reporting-MTA: dns; mx\.test\.local\r$/m);
  assert.match(dsn!.status, new RegExp(`^Final-Recipient: rfc822; nobody@${remote}\\r$`, 'm'));
  assert.match(dsn!.status, /^Action: failed\r$/m);
  assert.match(dsn!.status, /^Status: 5\.1\.1\r$/m);
  assert.match(dsn!.status, new RegExp(`^Remote-MTA: dns; mx\\.${remote}\\r$`, 'm'));
  assert.match(dsn!.status, /^Diagnostic-Code: smtp; 550 5\.1\.1 No such user here\r$/m);
  assert.match(dsn!.status, /^Subject: Doomed message\r$/m, 'the original headers are attached');
  const record = await rig.records.get(outboundIdFor(event.id, remote));
  assert.equal(record?.state, 'bounced');
});

test('partial acceptance: the accepted recipient gets it once, only the refused one is bounced', async () => {
  const { remote, alice } = await scenario({ rcpt: (a) => (a.startsWith('gone') ? '550 5.1.1 Gone' : null) });
  await submit(outgoingMessage(alice, `bob@${remote}`), alice, [`bob@${remote}`, `gone@${remote}`]);
  const [dsn] = await eventually(async () => ((await reports(alice)).length ? reports(alice) : undefined), 'DSN filed');
  await rig.drained();
  assert.equal(mx.to(remote).length, 1);
  assert.deepEqual(mx.to(remote)[0]!.rcptTo, [`bob@${remote}`]);
  assert.match(dsn!.status, new RegExp(`Final-Recipient: rfc822; gone@${remote}`));
  assert.doesNotMatch(dsn!.status, new RegExp(`Final-Recipient: rfc822; bob@${remote}`));
  assert.equal((await reports(alice)).length, 1);
});

test('always 4xx: one delay warning, then after the (compressed) 5 days a failure DSN', async () => {
  const { remote, alice } = await scenario({ rcpt: () => '451 4.4.2 Still busy' });
  const event = await submit(outgoingMessage(alice, `bob@${remote}`), alice, [`bob@${remote}`]);
  const id = outboundIdFor(event.id, remote);
  await eventually(async () => ((await rig.records.get(id))?.state === 'bounced' ? true : undefined), 'expiry', 30_000);
  await rig.drained();
  const dsns = await reports(alice);
  const delayed = dsns.filter((d) => /^Action: delayed\r$/m.test(d.status));
  const failed = dsns.filter((d) => /^Action: failed\r$/m.test(d.status));
  assert.equal(delayed.length, 1, 'the delay warning went once');
  assert.equal(failed.length, 1);
  assert.match(delayed[0]!.status, /^Will-Retry-Until: /m);
  assert.equal(delayed[0]!.parsed.subject, 'Delayed Mail (still being retried)');
  assert.match(failed[0]!.status, /^Status: 5\.4\.7\r$/m);
  assert.match(failed[0]!.status, /Diagnostic-Code: smtp; 451 4\.4\.2 Still busy \(gave up after 6 s\)/);
  assert.equal(mx.to(remote).length, 0);
});

test('null MX (RFC 7505): bounced at once with 5.1.10, nothing sent', async () => {
  const { alice } = await scenario();
  const nullDomain = `nullmx.${hex()}.test`;
  const event = await submit(outgoingMessage(alice, `x@${nullDomain}`), alice, [`x@${nullDomain}`]);
  const [dsn] = await eventually(async () => ((await reports(alice)).length ? reports(alice) : undefined), 'DSN filed');
  assert.match(dsn!.status, /^Status: 5\.1\.10\r$/m);
  assert.match(dsn!.status, /Diagnostic-Code: smtp; 556 5\.1\.10/);
  const record = await rig.records.get(outboundIdFor(event.id, nullDomain));
  assert.equal(record?.state, 'bounced');
  assert.equal(record?.event.attempts.length, 0, 'no retry');
});

test('a bounce is never bounced: a 550 for a null-sender message makes no DSN', async () => {
  const { local, remote, alice } = await scenario({ rcpt: () => '550 5.1.1 No such user' });
  // An alias forward is relayed whoever sent the message, the null sender too.
  await rig.store.directory.addAlias(`fwd@${local}`, [`gone@${remote}`]);
  const before = rig.telemetry.count('DsnSuppressed');
  const event = await submit(outgoingMessage(`MAILER-DAEMON@elsewhere.test`, `fwd@${local}`), '', [`fwd@${local}`], { authenticatedUser: null });
  const id = outboundIdFor(event.id, remote);
  await eventually(async () => ((await rig.records.get(id))?.state === 'bounced' ? true : undefined), 'bounced record');
  await rig.drained();
  assert.equal(rig.telemetry.count('DsnSuppressed'), before + 1);
  assert.equal((await inbox(alice)).length, 0);
});

test('loop detection: more Received headers than the limit bounces 5.4.6 without delivering', async () => {
  const { remote, alice } = await scenario();
  const received = Array.from({ length: 51 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Fri, 20 Nov 2026 10:00:00 +0000`);
  await submit(outgoingMessage(alice, `bob@${remote}`, 'Looping', received), alice, [`bob@${remote}`]);
  const [dsn] = await eventually(async () => ((await reports(alice)).length ? reports(alice) : undefined), 'DSN filed');
  assert.match(dsn!.status, /^Status: 5\.4\.6\r$/m);
  assert.equal(mx.to(remote).length, 0);
});

test('remote recipients of an unauthenticated message are not relayed (logged and counted)', async () => {
  const { remote } = await scenario();
  const before = rig.telemetry.count('UnauthenticatedRelayRefused');
  const event = await storedEvent(rig.blobs, outgoingMessage('x@elsewhere.test', `bob@${remote}`), [`bob@${remote}`], { mailFrom: 'x@elsewhere.test' });
  await fileInbound(event, rig.inboundDeps);
  assert.equal(rig.telemetry.count('UnauthenticatedRelayRefused'), before + 1);
  assert.equal(await rig.records.get(outboundIdFor(event.id, remote)), null);
});

test('a redelivered inbound record queues its outbound event once', async () => {
  const { remote, alice } = await scenario();
  const event = await storedEvent(rig.blobs, outgoingMessage(alice, `bob@${remote}`), [`bob@${remote}`], { mailFrom: alice, authenticatedUser: alice });
  await fileInbound(event, rig.inboundDeps);
  await fileInbound(event, rig.inboundDeps);
  await eventually(async () => ((await rig.records.get(outboundIdFor(event.id, remote)))?.state === 'delivered' ? true : undefined), 'delivered');
  await rig.drained();
  assert.equal(mx.to(remote).length, 1);
});

/**
 * The blob's tags: the orphan tag is what lets the lifecycle rule expire it. Only asked of
 * tagged blobs: fauxqs answers GetObjectTagging on an untagged object with the object itself.
 */
async function tagsOf(key: string) {
  const out = await world.clients.s3.send(new GetObjectTaggingCommand({ Bucket: world.config.resources.bucket, Key: key }));
  return out.TagSet ?? [];
}

test('a pending delivery holds its blob like a message does: orphaned only when the last holder goes', async () => {
  const { local, remote, alice } = await scenario({ rcpt: (_a, n) => (n <= 1 ? '451 4.3.0 Later' : null) });
  await rig.store.directory.addAccount(`carol@${local}`, 'pw-carol-123');
  // Relay-only message: its one holder is the delivery, released when it is delivered.
  const relayOnly = await submit(outgoingMessage(alice, `bob@${remote}`), alice, [`bob@${remote}`]);
  // Mixed: a local copy and a delivery hold the same blob.
  const mixed = await submit(outgoingMessage(alice, `dave@${remote}`), alice, [`dave@${remote}`, `carol@${local}`]);
  for (const event of [relayOnly, mixed]) {
    await eventually(async () => ((await rig.records.get(outboundIdFor(event.id, remote)))?.state === 'delivered' ? true : undefined), 'delivered');
  }
  await rig.drained();
  assert.equal(await rig.store.mailStore.blobReferences(relayOnly.key), 0);
  assert.deepEqual(await tagsOf(relayOnly.key), [{ Key: 'mail-orphan', Value: 'true' }], 'relay-only blob released for the lifecycle rule');
  assert.equal(await rig.store.mailStore.blobReferences(mixed.key), 1, "carol's copy still holds the mixed blob");
  assert.ok(!rig.orphaned.includes(mixed.key), 'a blob a mailbox still references is not orphaned');
  assert.equal(rig.orphaned.filter((k) => k === relayOnly.key).length, 1, 'released exactly once');
  const [copy] = await inbox(`carol@${local}`);
  await rig.store.mailStore.expunge(`carol@${local}`, copy!.mailboxId, [copy!.uid]);
  assert.deepEqual(await tagsOf(mixed.key), [{ Key: 'mail-orphan', Value: 'true' }], 'the last holder going orphans it');
});
