// Where mail is filed, INBOX or Junk, on emulated S3 and DynamoDB: the edge's quarantine stands
// whatever the filter says; an untrained account goes by our own Authentication-Results only, a
// trained one by its model; Junk found by special use with the INBOX lookup, INBOX (marked) when the
// account deleted it; a redelivery files where the first attempt did; the stored model keeps to its bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { createBatchProcessor } from '../../../functions/inbound/process-batch.ts';
import { fileInbound } from '../../../functions/inbound/file-inbound.ts';
import { JunkFilter, JunkTrainer } from '../../../core/junk/filter.ts';
import { MAX_MODEL_TOKENS } from '../../../core/junk/classifier.ts';
import { JunkModelCache, JunkModelStore } from '../../../core/store/junk-model.ts';
import { rawBlobKey } from '../../../core/blobs.ts';
import { inboundRig, sqsRecord, storedEvent, Telemetry, uniqueDomain } from './helpers.ts';
import { corpusMessages } from '../../helpers/spam-assassin-corpus.ts';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../../../core/aws.ts';
import { composeInbound } from '../../../functions/inbound/compose.ts';

const OUR_HOST = 'mx.ours.test';
let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

function junkRig() {
  const models = new JunkModelStore(world.clients.doc, world.config.resources.tables, new JunkModelCache());
  const rig = inboundRig(world);
  const deps = { ...rig.deps, junk: { filter: new JunkFilter(models, OUR_HOST), verdicts: models } };
  const trainer = new JunkTrainer(models, rig.blobs, OUR_HOST);
  return { ...rig, deps, models, trainer };
}

async function newAccount(rig: Pick<ReturnType<typeof junkRig>, 'store'>): Promise<string> {
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  return (await rig.store.directory.addAccount(`user@${domain}`, 'pw-not-used')).address;
}

/** Where each message of the account is: mailbox name → flags of each message. */
async function whereFiled(rig: Pick<ReturnType<typeof junkRig>, 'store'>, account: string): Promise<Record<string, string[][]>> {
  const out: Record<string, string[][]> = {};
  const names = new Set((await rig.store.mailStore.listMailboxes(account)).map((m) => m.name));
  for (const name of ['INBOX', 'Junk'].filter((n) => names.has(n))) {
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

/** The account's `use#\Junk` claim item (core/store/records.ts useSk), as filing reads it. */
const junkClaimKey = (account: string) => ({ TableName: world.config.resources.tables.mailboxes, Key: { pk: account.toLowerCase(), sk: 'use#\\Junk' } });

test('a Junk deleted after its claim was read leaves the copy in INBOX, marked, never undelivered', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  // What a filing that read the claim just before the user's DELETE sees: a claim naming a mailbox that is gone.
  const [junk] = (await rig.store.mailStore.listMailboxes(account)).filter((m) => m.specialUse === '\\Junk');
  await rig.store.mailStore.deleteMailbox(account, 'Junk');
  await world.clients.doc.send(new PutCommand({ TableName: junkClaimKey(account).TableName, Item: { ...junkClaimKey(account).Key, mailboxId: junk!.id } }));
  await fileInbound(await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`), [account]), rig.deps);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [['$Junk']] });
  assert.match((await rig.store.mailStore.listMessages(account, 'INBOX'))[0]!.headerPrefix ?? '', /^X-Spam-Flag: YES\r\n/);
});

test('the edge\'s quarantine stands when the filter cannot read its model: Junk, with $Junk and the verdict lines', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  const broken = { ...rig.deps, junk: { ...rig.deps.junk, filter: new JunkFilter({ load: () => Promise.reject(new Error('throttled')) }, OUR_HOST) } };
  const event = await storedEvent(rig.blobs, message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`), [account], { authentication: { quarantine: true } } as object);
  await fileInbound(event, broken);
  assert.deepEqual(await whereFiled(rig, account), { Junk: [['$Junk']] });
  assert.equal(rig.telemetry.count('JunkFilterFailures'), 0, 'the model is not read for a quarantine');
  const [junk] = await rig.store.mailStore.listMessages(account, 'Junk');
  assert.equal(junk!.headerPrefix, `X-Spam-Flag: YES\r\nX-Spam-Score: 1.000 (${OUR_HOST}; rules; quarantine, dmarc=fail)\r\n`);
});

test('a quarantine to an account that deleted its Junk: INBOX with $Junk and the verdict lines, as the filter files its junk; no Junk is made', async () => {
  // The rig as every inbound test builds it (functions/inbound/compose.ts), no filter of the test's own.
  const rig = inboundRig(world);
  const account = await newAccount(rig);
  await rig.store.mailStore.deleteMailbox(account, 'Junk');
  const quarantined = await storedEvent(rig.blobs, message(''), [account], { authentication: { quarantine: true } } as object);
  await fileInbound(quarantined, rig.deps);
  const rules = `Authentication-Results: ${world.config.mail.hostname}; dmarc=fail\r\n`;
  await fileInbound(await storedEvent(rig.blobs, message(rules), [account]), rig.deps);
  assert.deepEqual(await whereFiled(rig, account), { INBOX: [['$Junk'], ['$Junk']] });
  const [first, second] = await rig.store.mailStore.listMessages(account, 'INBOX');
  assert.match(first!.headerPrefix ?? '', /^X-Spam-Flag: YES\r\nX-Spam-Score: 1\.000 \([^;]+; rules; quarantine\)\r\n$/);
  assert.match(second!.headerPrefix ?? '', /^X-Spam-Flag: YES\r\nX-Spam-Score: 0\.950 /);
  assert.equal((await rig.store.mailStore.listMailboxes(account)).some((m) => m.specialUse === '\\Junk'), false);
});

/** The inbound function as AWS runs it (composeInbound) on clients whose requests `counter` counts. */
function countedFunction(counter: RequestCounter) {
  const clients = createAwsClients(world.config.aws, counter);
  const telemetry = new Telemetry();
  const deps = composeInbound({ clients, resources: world.config.resources, hostname: OUR_HOST, logger: telemetry.logger, metrics: telemetry.metrics });
  return { deps, close: () => destroyAwsClients(clients) };
}

/** DynamoDB requests of filing `raw` to a new account, by operation. */
async function requestsToFile(rig: ReturnType<typeof junkRig>, account: string, raw: Buffer): Promise<Record<string, number>> {
  const event = await storedEvent(rig.blobs, raw, [account]);
  const counter = new RequestCounter();
  const fn = countedFunction(counter);
  try {
    await fileInbound(event, fn.deps);
  } finally {
    fn.close();
  }
  return Object.fromEntries(Object.entries(counter.snapshot()).filter(([op]) => op.startsWith('DynamoDB.')));
}

test('a junk copy finds Junk with the INBOX lookup: no Query, and the requests of an INBOX copy', async () => {
  const rig = junkRig();
  const clean = await requestsToFile(rig, await newAccount(rig), message(`Authentication-Results: ${OUR_HOST}; spf=pass; dkim=pass; dmarc=pass\r\n`));
  const junkAccount = await newAccount(rig);
  const junk = await requestsToFile(rig, junkAccount, message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`));
  assert.deepEqual(await whereFiled(rig, junkAccount), { Junk: [['$Junk']] });
  assert.equal(junk['DynamoDB.Query'], undefined, JSON.stringify(junk));
  assert.deepEqual(junk, clean);
});

test('an account from before use claims: Junk found by listing its mailboxes once, then by its claim; deleted, then made again', async () => {
  const rig = junkRig();
  const account = await newAccount(rig);
  await world.clients.doc.send(new DeleteCommand(junkClaimKey(account)));
  const dmarcFail = message(`Authentication-Results: ${OUR_HOST}; dmarc=fail\r\n`);
  assert.equal((await requestsToFile(rig, account, dmarcFail))['DynamoDB.Query'], 1, 'listed once');
  assert.equal((await requestsToFile(rig, account, dmarcFail))['DynamoDB.Query'], undefined, 'then found by the claim written');
  assert.deepEqual(await whereFiled(rig, account), { Junk: [['$Junk'], ['$Junk']] });
  // Deleted: listed once more, then known to have none.
  await rig.store.mailStore.deleteMailbox(account, 'Junk');
  assert.equal((await requestsToFile(rig, account, dmarcFail))['DynamoDB.Query'], 1);
  assert.equal((await requestsToFile(rig, account, dmarcFail))['DynamoDB.Query'], undefined);
  // A \Junk made again (RFC 6154 CREATE-SPECIAL-USE, a client's own Junk) takes the claim over.
  await rig.store.mailStore.createMailbox(account, 'Spam', '\\Junk');
  await fileInbound(await storedEvent(rig.blobs, dmarcFail, [account]), rig.deps);
  assert.deepEqual((await rig.store.mailStore.listMessages(account, 'Spam')).map((m) => m.flags), [['$Junk']]);
  assert.equal((await rig.store.mailStore.listMessages(account, 'INBOX')).length, 2);
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
