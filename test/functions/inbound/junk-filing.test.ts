// The junk filter where mail is filed, on emulated S3 and DynamoDB: an untrained account goes by
// our own Authentication-Results only, a trained one by its model; Junk found by special use; a
// redelivery files where the first attempt did; the stored model keeps to its bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { createBatchProcessor } from '../../../functions/inbound/process-batch.ts';
import { fileInbound } from '../../../functions/inbound/file-inbound.ts';
import { JunkFilter, JunkTrainer } from '../../../core/junk/filter.ts';
import { MAX_MODEL_TOKENS } from '../../../core/junk/classifier.ts';
import { JunkModelCache, JunkModelStore } from '../../../core/store/junk-model.ts';
import { rawBlobKey } from '../../../core/blobs.ts';
import { inboundRig, sqsRecord, storedEvent, uniqueDomain } from './helpers.ts';
import { corpusMessages } from '../../core/junk/corpus.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';

const OUR_HOST = 'mx.ours.test';
let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

function junkRig() {
  const models = new JunkModelStore(world.clients.doc, world.config.resources.tables, new JunkModelCache());
  const rig = inboundRig(world);
  const deps = { ...rig.deps, junk: { filter: new JunkFilter(models, OUR_HOST), verdicts: models, mailboxes: rig.store.mailStore } };
  const trainer = new JunkTrainer(models, rig.blobs, OUR_HOST);
  return { ...rig, deps, models, trainer };
}

async function newAccount(rig: ReturnType<typeof junkRig>): Promise<string> {
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  return (await rig.store.directory.addAccount(`user@${domain}`, 'pw-not-used')).address;
}

/** Where each message of the account is: mailbox name → flags of each message. */
async function whereFiled(rig: ReturnType<typeof junkRig>, account: string): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  for (const name of ['INBOX', 'Junk']) {
    const messages = await rig.store.mailStore.listMessages(account, name);
    if (messages.length) out[name] = messages.map((m) => m.flags);
  }
  return out;
}

const message = (authResults: string, subject = 'Lunch on Friday?') =>
  Buffer.from(`${authResults}From: Carol <carol@bank.test>\r\nTo: user@example.test\r\nSubject: ${subject}\r\n\r\nShall we meet at noon?\r\n`);

test('an untrained account goes by our own Authentication-Results: DMARC failure to Junk with $Junk, the rest to INBOX', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const failed = await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; spf=fail smtp.mailfrom=bank.test; dkim=none; dmarc=fail header.from=bank.test\r\n`), [account]);
  // The same claim from someone else's host is only text: no verdict (RFC 8601 §5).
  const forged = await storedEvent(rig.blobs, message('Authentication-Results: mx.elsewhere.test; dmarc=fail header.from=bank.test\r\n'), [account]);
  const clean = await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; spf=pass; dkim=pass; dmarc=pass\r\n`), [account]);
  // Spam by its words, but with no authentication failure: an untrained account has no words to go by.
  const wordySpam = await storedEvent(rig.blobs, corpusMessages('spam-2', 1200, 1201)[0]!, [account]);
  const response = await createBatchProcessor(rig.deps)({ Records: [failed, forged, clean, wordySpam].map((e) => sqsRecord(JSON.stringify(e))) });
  assert.deepEqual(response.batchItemFailures, []);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [[], [], []], Junk: [['$Junk']] });
  assert.equal(rig.telemetry.count('JunkFiled'), 1);
  const log = rig.telemetry.logs.find((l) => l.message === 'junk verdict');
  assert.deepEqual(log?.fields.reasons, ['dmarc=fail', 'spf=fail without dkim=pass']);
  assert.equal(log?.fields.source, 'rules');
  // The junk copy alone carries the verdict as header lines; its size is what a reader is sent.
  const [junk] = await rig.store.mailStore.listMessages(account, 'Junk');
  const prefix = `X-Spam-Flag: YES\r\nX-Spam-Score: 0.950 (${OUR_HOST}; rules; dmarc=fail, spf=fail without dkim=pass)\r\n`;
  assert.equal(junk!.headerPrefix, prefix);
  assert.equal(junk!.size, prefix.length + failed.size);
  for (const m of await rig.store.mailStore.listMessages(account, 'INBOX')) assert.equal(m.headerPrefix, undefined);
});

test('a quarantine asked for by the edge files into Junk, found by its special use after the user renamed it', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  await rig.store.mailStore.renameMailbox(account, 'Junk', 'Spam');
  const event = await storedEvent(rig.blobs, message(''), [account], { authentication: { quarantine: true } } as object);
  await fileInbound(event, rig.deps);
  // The rules judge a redelivery the same (nothing recorded): one copy, where it was.
  assert.equal((await fileInbound(event, rig.deps)).filed[0]?.duplicate, true);
  assert.deepEqual((await rig.store.mailStore.listMessages(account, 'Spam')).map((m) => m.flags), [['$Junk']]);
  assert.deepEqual(await rig.store.mailStore.listMessages(account, 'INBOX'), []);
});

test('a trained account files by its model; a redelivery after the model changed still files where the first attempt did', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const keep = async (raws: Buffer[]) => Promise.all(raws.map(async (raw, i) => {
    const blobKey = rawBlobKey(`train-${i}-${Math.random()}`, new Date());
    await rig.blobs.put(blobKey, raw);
    return { blobKey, size: raw.length };
  }));
  const spam = await keep(corpusMessages('spam-1', 0, 40));
  const ham = await keep(corpusMessages('easy-ham-1', 0, 40));
  assert.deepEqual(await rig.trainer.train(account, spam, 'spam'), { changed: 40, unchanged: 0 });
  assert.deepEqual(await rig.trainer.train(account, ham, 'ham'), { changed: 40, unchanged: 0 });
  assert.deepEqual(await rig.trainer.train(account, ham.slice(0, 3), 'ham'), { changed: 0, unchanged: 3 }, 'a message counts once');

  const spamEvent = await storedEvent(rig.blobs, corpusMessages('spam-1', 499, 500)[0]!, [account]);
  // A ham message this small model judges ham (with 40 of each class, some ham still looks like spam).
  const hamEvent = await storedEvent(rig.blobs, corpusMessages('easy-ham-1', 2401, 2402)[0]!, [account]);
  await fileInbound(spamEvent, rig.deps);
  await fileInbound(hamEvent, rig.deps);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [[]], Junk: [['$Junk']] });
  assert.equal(rig.telemetry.logs.find((l) => l.message === 'junk verdict')?.fields.source, 'classifier');

  // The user teaches that the ham message is junk after all; SQS delivers its event again.
  await rig.trainer.train(account, [{ blobKey: hamEvent.key, size: hamEvent.size }], 'spam');
  const raw = await rig.blobs.getBuffer(hamEvent.key);
  assert.equal((await rig.deps.junk.filter.message(raw).judge(account)).junk, true, 'the model now calls it junk');
  const again = await fileInbound(hamEvent, rig.deps);
  assert.equal(again.filed[0]?.duplicate, true);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [[]], Junk: [['$Junk']] });
});

test('mail our own users submitted is not judged: an executable attachment from a colleague stays in INBOX', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const exe = Buffer.from('Subject: the tool\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream; name="setup.exe"\r\n\r\nMZ\r\n--b--\r\n');
  await fileInbound(await storedEvent(rig.blobs, exe, [account], { authenticatedUser: account }), rig.deps);
  await fileInbound(await storedEvent(rig.blobs, exe, [account]), rig.deps);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [[]], Junk: [['$Junk']] });
});

test('a Junk deleted between its lookup and the filing leaves the copy in INBOX, marked, never undelivered', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  // The lookup still finds the Junk that the user's DELETE is about to remove.
  const stale = await rig.store.mailStore.listMailboxes(account);
  await rig.store.mailStore.deleteMailbox(account, 'Junk');
  const deps = { ...rig.deps, junk: { ...rig.deps.junk, mailboxes: { listMailboxes: async () => stale } } };
  await fileInbound(await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`), [account]), deps);
  assert.deepEqual((await rig.store.mailStore.listMessages(account, 'INBOX')).map((m) => m.flags), [['$Junk']]);
});

test('a filter that cannot read its model files into INBOX, logged and counted', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const broken = { ...rig.deps, junk: { ...rig.deps.junk, filter: new JunkFilter({ load: () => Promise.reject(new Error('throttled')) }, OUR_HOST) } };
  await fileInbound(await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`), [account]), broken);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [[]] });
  assert.equal(rig.telemetry.count('JunkFilterFailures'), 1);
});

test('the stored model stays within its bound after training on many messages, in an item DynamoDB accepts', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  for (let round = 0; round < 4; round++) {
    await rig.models.update(account, (model) => {
      // 12 000 tokens never seen before per round: 48 000 in all, past the cap.
      for (let i = 0; i < 12_000; i++) model.tokens.set((round * 12_000 + i) * 89_477 + 1, [1, 0]);
      model.ham += 100;
    });
  }
  const stored = await rig.models.load(account);
  assert.ok(stored);
  assert.ok(stored.model.tokens.size <= MAX_MODEL_TOKENS, `${stored.model.tokens.size} tokens`);
  assert.equal(stored.model.ham, 400);
  const head = await world.clients.doc.send(new GetCommand({ TableName: world.config.resources.tables.directory, Key: { pk: `junk#${account}`, sk: 'head' } }));
  assert.equal(head.Item?.version, 4);
  // Each update replaced the body it superseded: one head, one body.
  const body = await world.clients.doc.send(new GetCommand({ TableName: world.config.resources.tables.directory, Key: { pk: `junk#${account}`, sk: head.Item?.body } }));
  assert.ok((body.Item?.data as Uint8Array).length < 350_000);
});

test('removing an account removes its junk model: an account made again under its address starts untrained', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const blobKey = rawBlobKey(`forget-${Math.random()}`, new Date());
  const raw = corpusMessages('spam-1', 0, 1)[0]!;
  await rig.blobs.put(blobKey, raw);
  await rig.trainer.train(account, [{ blobKey, size: raw.length }], 'spam');
  assert.ok(await rig.models.load(account));
  await rig.store.directory.removeAccount(account);
  await rig.store.directory.addAccount(account, 'pw-not-used');
  assert.equal(await new JunkModelStore(world.clients.doc, world.config.resources.tables).load(account), null);
  assert.equal(await rig.models.trainedAs(account, blobKey), null);
});

test('concurrent trainings of one account from several writers all count', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const writers = Array.from({ length: 6 }, () => new JunkModelStore(world.clients.doc, world.config.resources.tables));
  await Promise.all(writers.map((w, i) => w.update(account, (model) => {
    model.spam += 1;
    model.tokens.set(1000 + i, [0, 1]);
  })));
  const stored = await new JunkModelStore(world.clients.doc, world.config.resources.tables).load(account);
  assert.equal(stored?.model.spam, 6);
  assert.equal(stored?.model.tokens.size, 6);
});
