// The inbound function against emulated S3 and DynamoDB with the real store and indexer:
// filing, deduplication of final mailboxes, idempotent redelivery, and every failure path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { createBatchProcessor } from '../../../functions/inbound/process-batch.ts';
import { StoreError, type FileResult, type MailStore } from '../../../core/store/types.ts';
import { inboundRig, sampleMessage, sqsRecord, storedEvent, uniqueDomain } from './helpers.ts';
import { outboundIdFor } from '../../../core/outbound/enqueue.ts';
import type { OutboundQueueStore } from '../../../core/outbound/queue-store.ts';

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

/** A fresh domain with the given local parts as accounts. */
async function domainWith(rig: ReturnType<typeof inboundRig>, ...locals: string[]): Promise<{ domain: string; accounts: string[] }> {
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const accounts: string[] = [];
  for (const local of locals) accounts.push((await rig.store.directory.addAccount(`${local}@${domain}`, 'pw-not-used')).address);
  return { domain, accounts };
}

test('a message in S3 and its event are filed into INBOX with uid, flags, size, date, envelope, structure and offsets', async () => {
  const rig = inboundRig(world);
  const { accounts: [demo] } = await domainWith(rig, 'demo');
  const raw = sampleMessage();
  const event = await storedEvent(rig.blobs, raw, [demo!]);
  const response = await createBatchProcessor(rig.deps)({ Records: [sqsRecord(JSON.stringify(event))] });
  assert.deepEqual(response.batchItemFailures, []);

  const [message, ...more] = await rig.store.mailStore.listMessages(demo!, 'INBOX');
  assert.equal(more.length, 0);
  assert.ok(message);
  assert.equal(message.uid, 1);
  assert.deepEqual(message.flags, []);
  assert.equal(message.size, raw.length);
  assert.equal(message.internalDate, event.receivedAt);
  assert.equal(message.blobKey, event.key);
  assert.equal(message.index.envelope.subject, '=?UTF-8?B?R3LDvMOfIGF1cyBCZXJsaW4=?=');
  assert.equal(message.index.envelope.messageId, '<abc123@elsewhere.example>');
  assert.deepEqual(message.index.envelope.from?.[0]?.mailbox, 'sender');
  assert.deepEqual(message.index.envelope.from?.[0]?.host, 'elsewhere.example');

  const body = message.index.body;
  assert.equal(body.kind, 'multipart');
  assert.equal(body.subtype, 'mixed');
  assert.ok(body.kind === 'multipart');
  const [text, attachment] = body.parts;
  assert.ok(text?.kind === 'single' && attachment?.kind === 'single');
  assert.equal(`${text.type}/${text.subtype}`, 'text/plain');
  assert.equal(attachment.encoding.toUpperCase(), 'BASE64');
  // The part map slices the very blob in S3: ranged reads serve BODY[1] and BODY[2].
  const stored = await rig.blobs.getBuffer(event.key);
  const slice = (p: { offsets: { bodyStart: number; end: number } }) => stored.subarray(p.offsets.bodyStart, p.offsets.end).toString('latin1');
  assert.equal(slice(text), 'Hello, this is the text part.');
  assert.equal(slice(attachment), 'AAECAwQFBgc=');
  assert.equal(stored.subarray(text.offsets.headerStart, text.offsets.bodyStart).toString(), 'Content-Type: text/plain; charset=utf-8\r\n\r\n');

  const mailbox = await rig.store.mailStore.getMailbox(demo!, 'INBOX');
  assert.equal(mailbox?.uidNext, 2);
  assert.equal(rig.telemetry.count('MessagesFiled'), 1);
  assert.ok(!JSON.stringify(rig.telemetry.logs).includes('Hello, this is the text part'), 'no message body in the logs');
});

test('an alias, the catch-all, a case variant and the account itself reach one account once', async () => {
  const rig = inboundRig(world);
  const { domain, accounts: [demo, bob] } = await domainWith(rig, 'demo', 'bob');
  await rig.store.directory.addAlias(`info@${domain}`, [demo!]);
  await rig.store.directory.addAlias(`team@${domain}`, [demo!, bob!]);
  await rig.store.directory.addAlias(`@${domain}`, [demo!]);
  const rcptTo = [demo!, `info@${domain}`, `whoever@${domain}`, `DEMO@${domain.toUpperCase()}`, `team@${domain}`];
  const event = await storedEvent(rig.blobs, sampleMessage(), rcptTo);
  const response = await createBatchProcessor(rig.deps)({ Records: [sqsRecord(JSON.stringify(event))] });
  assert.deepEqual(response.batchItemFailures, []);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
  assert.equal((await rig.store.mailStore.listMessages(bob!, 'INBOX')).length, 1);
  assert.equal(rig.telemetry.count('MessagesFiled'), 2);
  assert.equal(rig.telemetry.count('DuplicateDeliveries'), 0, 'deduplicated before filing, not by the store');
});

test('a redelivered event files nothing twice', async () => {
  const rig = inboundRig(world);
  const { accounts } = await domainWith(rig, 'a', 'b');
  const event = await storedEvent(rig.blobs, sampleMessage(), accounts);
  const processBatch = createBatchProcessor(rig.deps);
  const body = JSON.stringify(event);
  assert.deepEqual((await processBatch({ Records: [sqsRecord(body)] })).batchItemFailures, []);
  assert.deepEqual((await processBatch({ Records: [sqsRecord(body, 2)] })).batchItemFailures, []);
  for (const account of accounts) {
    const messages = await rig.store.mailStore.listMessages(account, 'INBOX');
    assert.deepEqual(messages.map((m) => m.uid), [1]);
  }
  assert.equal(rig.telemetry.count('MessagesFiled'), 2);
  assert.equal(rig.telemetry.count('DuplicateDeliveries'), 2);
});

test('a handler failing after filing some recipients, redelivered, files each recipient exactly once', async () => {
  const rig = inboundRig(world);
  const { accounts } = await domainWith(rig, 'r1', 'r2', 'r3');
  const event = await storedEvent(rig.blobs, sampleMessage(), accounts);
  const body = JSON.stringify(event);

  // The second fileMessage call of the first delivery fails as DynamoDB would under throttling.
  let calls = 0;
  const failingSecond: Pick<MailStore, 'fileMessages'> = {
    fileMessages: (requests) =>
      Promise.all(
        requests.map(async (request): Promise<PromiseSettledResult<FileResult>> => {
          if (++calls === 2) return { status: 'rejected', reason: Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ProvisionedThroughputExceededException' }) };
          return (await rig.store.mailStore.fileMessages([request]))[0]!;
        }),
      ),
  };
  const first = await createBatchProcessor({ ...rig.deps, store: failingSecond })({ Records: [sqsRecord(body)] });
  assert.equal(first.batchItemFailures.length, 1, 'the record is retried');
  const afterFirst = await Promise.all(accounts.map((a) => rig.store.mailStore.listMessages(a, 'INBOX')));
  assert.deepEqual(afterFirst.map((m) => m.length).sort(), [0, 1, 1], 'two of three filed before the failure');
  assert.ok(rig.telemetry.logs.some((l) => l.level === 'error' && String(l.fields.error).includes('ProvisionedThroughputExceededException')));

  const second = await createBatchProcessor(rig.deps)({ Records: [sqsRecord(body, 2)] });
  assert.deepEqual(second.batchItemFailures, []);
  for (const account of accounts) {
    assert.deepEqual((await rig.store.mailStore.listMessages(account, 'INBOX')).map((m) => m.uid), [1], `${account} has exactly one copy`);
  }
  assert.equal(rig.telemetry.count('DuplicateDeliveries'), 2);
  assert.equal(rig.telemetry.count('MessagesFiled'), 3);
});

test('malformed events are batch item failures, loudly logged, while the good record in the batch is filed', async () => {
  const rig = inboundRig(world);
  const { accounts: [demo] } = await domainWith(rig, 'demo');
  const good = sqsRecord(JSON.stringify(await storedEvent(rig.blobs, sampleMessage(), [demo!])));
  const notJson = sqsRecord('{"version":1,');
  const wrongShape = sqsRecord(JSON.stringify({ version: 1, id: 'short', rcptTo: [] }), 4);
  const otherBucket = sqsRecord(JSON.stringify(await storedEvent(rig.blobs, sampleMessage(), [demo!], { bucket: 'someone-elses-bucket' })));
  const response = await createBatchProcessor(rig.deps)({ Records: [notJson, good, wrongShape, otherBucket] });
  assert.deepEqual(response.batchItemFailures.map((f) => f.itemIdentifier), [notJson.messageId, wrongShape.messageId, otherBucket.messageId]);
  assert.equal(rig.telemetry.count('InvalidEvents'), 3);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
  const loud = rig.telemetry.logs.filter((l) => l.level === 'error');
  assert.ok(loud.some((l) => l.fields.messageId === wrongShape.messageId && l.fields.receiveCount === 4));
  assert.ok(!JSON.stringify(loud).includes('"rcptTo"'), 'the event body is not logged');
});

test('a missing blob is reported for retry, not a crash, and the retry files it once the blob is there', async () => {
  const rig = inboundRig(world);
  const { accounts: [demo] } = await domainWith(rig, 'demo');
  const raw = sampleMessage();
  const event = await storedEvent(rig.blobs, raw, [demo!], {});
  const missing = { ...event, key: event.key.replace('.eml', '-later.eml') };
  const processBatch = createBatchProcessor(rig.deps);
  const record = sqsRecord(JSON.stringify(missing));
  const response = await processBatch({ Records: [record] });
  assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: record.messageId }]);
  assert.equal(rig.telemetry.count('FailedEvents'), 1);
  assert.equal(rig.telemetry.count('InvalidEvents'), 0);
  assert.deepEqual(await rig.store.mailStore.listMessages(demo!, 'INBOX'), []);

  await rig.blobs.put(missing.key, raw);
  assert.deepEqual((await processBatch({ Records: [sqsRecord(JSON.stringify(missing), 2)] })).batchItemFailures, []);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
});

test('remote recipients are queued for the relay, one delivery per domain, and the local copy is filed', async () => {
  const rig = inboundRig(world);
  const { domain, accounts: [demo] } = await domainWith(rig, 'demo');
  await rig.store.directory.addAlias(`fwd@${domain}`, ['someone@forward.example']);
  const event = await storedEvent(rig.blobs, sampleMessage(), [demo!, 'x@remote.example', 'y@remote.example', `fwd@${domain}`], {
    authenticatedUser: demo!,
  });
  const response = await createBatchProcessor(rig.deps)({ Records: [sqsRecord(JSON.stringify(event))] });
  assert.deepEqual(response.batchItemFailures, []);
  assert.equal(rig.telemetry.count('RemoteRecipientsQueued'), 3);
  const records = rig.deps.outbound.records as OutboundQueueStore;
  const remote = await records.get(outboundIdFor(event.id, 'remote.example'));
  const forward = await records.get(outboundIdFor(event.id, 'forward.example'));
  assert.deepEqual(remote?.event.recipients.toSorted(), ['x@remote.example', 'y@remote.example']);
  assert.deepEqual(forward?.event.recipients, ['someone@forward.example']);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
  assert.equal(rig.telemetry.count('MessagesFiled'), 1);
});

test('a recipient gone by filing time is logged and counted, not retried', async () => {
  const rig = inboundRig(world);
  const { domain, accounts: [demo, gone] } = await domainWith(rig, 'demo', 'gone');
  const event = await storedEvent(rig.blobs, sampleMessage(), [demo!, gone!, `never@${domain}`]);
  // The account is resolved (as at RCPT time) and removed before its copy is filed.
  const directory = {
    resolveRecipients: async (addresses: readonly string[]) => {
      const routes = await rig.store.directory.resolveRecipients(addresses);
      if (addresses.includes(gone!)) await rig.store.directory.removeAccount(gone!);
      return routes;
    },
  };
  const response = await createBatchProcessor({ ...rig.deps, directory })({ Records: [sqsRecord(JSON.stringify(event))] });
  assert.deepEqual(response.batchItemFailures, []);
  assert.equal(rig.telemetry.count('UnknownRecipients'), 2);
  assert.equal(rig.telemetry.count('MessagesFiled'), 1);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
});

test('a store failure other than not-found is retried, not swallowed', async () => {
  const rig = inboundRig(world);
  const { accounts: [demo] } = await domainWith(rig, 'demo');
  const event = await storedEvent(rig.blobs, sampleMessage(), [demo!]);
  const conflicted: Pick<MailStore, 'fileMessages'> = {
    fileMessages: async (requests) => requests.map(() => ({ status: 'rejected', reason: new StoreError('conflict', 'UID allocation kept failing') })),
  };
  const response = await createBatchProcessor({ ...rig.deps, store: conflicted })({ Records: [sqsRecord(JSON.stringify(event))] });
  assert.equal(response.batchItemFailures.length, 1);
  assert.equal(rig.telemetry.count('UnknownRecipients'), 0);
});

test('an event the MX quarantined is filed into the account\'s \\Junk (renamed or not), once on redelivery; one without the field into INBOX', async () => {
  const rig = inboundRig(world);
  const { accounts: [demo] } = await domainWith(rig, 'demo');
  const junk = (await rig.store.mailStore.listMailboxes(demo!)).find((m) => m.specialUse === '\\Junk')!;
  await rig.store.mailStore.renameMailbox(demo!, junk.name, 'Spam');
  const authentication = { quarantine: true, reason: 'dmarc-quarantine', spf: 'fail', dkim: 'none', dmarc: 'fail', arc: 'none' };
  const quarantined = await storedEvent(rig.blobs, sampleMessage(), [demo!], { authentication });
  const body = JSON.stringify(quarantined);
  for (let i = 0; i < 2; i++) assert.deepEqual((await createBatchProcessor(rig.deps)({ Records: [sqsRecord(body)] })).batchItemFailures, []);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'Spam')).length, 1);
  assert.equal(rig.telemetry.count('MessagesQuarantined'), 1);

  // an event from before verification existed has no `authentication`: still valid, INBOX
  const old = await storedEvent(rig.blobs, sampleMessage(), [demo!]);
  assert.equal('authentication' in old, false);
  assert.deepEqual((await createBatchProcessor(rig.deps)({ Records: [sqsRecord(JSON.stringify(old))] })).batchItemFailures, []);
  assert.equal((await rig.store.mailStore.listMessages(demo!, 'INBOX')).length, 1);
});
