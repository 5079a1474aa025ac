// What filing costs in AWS requests: a batch of single-recipient messages goes through the inbound
// function against the emulators, with the SDK's request counter (core/aws.ts, a middleware on each
// client) on the function's own clients only, and the average per message is checked, not just
// benchmarked (docs/decisions/0019-batch-uid-allocation.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../../../core/aws.ts';
import { BlobStore } from '../../../core/blobs.ts';
import { createStore } from '../../../core/store/index.ts';
import { OutboundQueueStore } from '../../../core/outbound/queue-store.ts';
import { QueueSender } from '../../../core/queues.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { createBatchProcessor } from '../../../functions/inbound/process-batch.ts';
import { composeInbound, composeJunkFiling } from '../../../functions/inbound/compose.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { inboundRig, sampleMessage, sqsRecord, storedEvent, Telemetry, uniqueDomain } from './helpers.ts';

/** Lambda's batch size for the inbound queue (core/resources.ts FUNCTIONS.inbound). */
const BATCH = 10;

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

/** The inbound function on clients of its own, whose requests `counter` counts. */
function countedFunction(counter: RequestCounter) {
  const clients = createAwsClients(world.config.aws, counter);
  const store = createStore(clients, world.config.resources);
  const telemetry = new Telemetry();
  const processBatch = createBatchProcessor({
    directory: store.directory,
    store: store.mailStore,
    blobs: new BlobStore(clients.s3, world.config.resources.bucket),
    indexMessage,
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    outbound: {
      records: new OutboundQueueStore(clients.doc, world.config.resources.tables.deliveries),
      queue: new QueueSender(clients.sqs),
      queueUrl: world.config.resources.queues.outbound,
      blobRefs: store.blobRefs,
    },
    // The junk filter's own reads (a model head per account and batch, docs/decisions/0015-junk-filter.md) are
    // not filing's: it reads on uncounted clients. What a junk copy costs: junk-filing.test.ts.
    junk: composeJunkFiling(world.clients.doc, world.config.resources.tables, world.config.mail.hostname),
  });
  return { processBatch, telemetry, close: () => destroyAwsClients(clients) };
}

const dynamoRequests = (counter: RequestCounter) =>
  Object.entries(counter.snapshot()).filter(([op]) => op.startsWith('DynamoDB.')).reduce((n, [, count]) => n + count, 0);

/** Files one SQS batch of single-recipient messages, one per recipient in `rcpts`; returns DynamoDB requests per message. */
async function fileBatch(rcpts: string[]): Promise<{ perMessage: number; byOperation: Record<string, number> }> {
  const rig = inboundRig(world);
  const events = await Promise.all(rcpts.map((rcpt, i) => storedEvent(rig.blobs, sampleMessage(`message ${i}`), [rcpt])));
  const counter = new RequestCounter();
  const fn = countedFunction(counter);
  try {
    const response = await fn.processBatch({ Records: events.map((e) => sqsRecord(JSON.stringify(e))) });
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(fn.telemetry.count('MessagesFiled'), rcpts.length);
  } finally {
    fn.close();
  }
  for (const rcpt of new Set(rcpts)) {
    const uids = (await rig.store.mailStore.listMessages(rcpt, 'INBOX')).map((m) => m.uid);
    const expected = rcpts.filter((r) => r === rcpt).length;
    assert.deepEqual(uids, Array.from({ length: expected }, (_, i) => i + 1), `${rcpt}: UIDs 1..${expected}`);
  }
  return { perMessage: dynamoRequests(counter) / rcpts.length, byOperation: counter.snapshot() };
}

test(`a batch of ${BATCH} messages to one mailbox: at most 2.5 DynamoDB requests per message`, async (t) => {
  const rig = inboundRig(world);
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const account = (await rig.store.directory.addAccount(`busy@${domain}`, 'pw-not-used')).address;
  const { perMessage, byOperation } = await fileBatch(Array.from({ length: BATCH }, () => account));
  t.diagnostic(`${perMessage} DynamoDB requests per message: ${JSON.stringify(byOperation)}`);
  // Per message a claim and a put; per batch the recipients, the INBOX claim, the usage, one UID
  // reservation and one uidNext advance (docs/decisions/0024-sparse-index-and-delivery-claims.md).
  assert.ok(perMessage <= 2.5, `${perMessage} DynamoDB requests per message: ${JSON.stringify(byOperation)}`);
});

test(`a batch of ${BATCH} messages to ${BATCH} mailboxes: the lookups shared, at most 5.2 DynamoDB requests per message`, async (t) => {
  const rig = inboundRig(world);
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const accounts: string[] = [];
  for (let i = 0; i < BATCH; i++) accounts.push((await rig.store.directory.addAccount(`user${i}@${domain}`, 'pw-not-used')).address);
  const { perMessage, byOperation } = await fileBatch(accounts);
  t.diagnostic(`${perMessage} DynamoDB requests per message: ${JSON.stringify(byOperation)}`);
  // The recipients and INBOX claims are read once for the batch; the rest of one mailbox's
  // protocol cannot be shared with another's. The bound keeps the cost from creeping up.
  assert.equal(byOperation['DynamoDB.GetItem'] ?? 0, 0, 'no mailbox read one at a time');
  assert.ok(perMessage <= 5.2, `${perMessage} DynamoDB requests per message: ${JSON.stringify(byOperation)}`);
});

test('recipients of a batch are resolved together: one BatchGetItem per level of alias expansion', async () => {
  const rig = inboundRig(world);
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const accounts: string[] = [];
  for (let i = 0; i < 4; i++) accounts.push((await rig.store.directory.addAccount(`a${i}@${domain}`, 'pw-not-used')).address);
  await rig.store.directory.addAlias(`leads@${domain}`, [accounts[1]!, accounts[2]!]);
  await rig.store.directory.addAlias(`team@${domain}`, [`leads@${domain}`, accounts[0]!]);
  const counter = new RequestCounter();
  const clients = createAwsClients(world.config.aws, counter);
  try {
    const { directory } = createStore(clients, world.config.resources);
    const routes = await directory.resolveRecipients([...accounts, `team@${domain}`, `nobody@${domain}`, 'someone@elsewhere.example', 'not an address']);
    assert.deepEqual(routes.slice(0, 4), accounts.map((a) => ({ kind: 'local', accounts: [a], forwards: [] })));
    assert.deepEqual(routes[4], { kind: 'local', accounts: [accounts[0]!, accounts[1]!, accounts[2]!].sort(), forwards: [] });
    assert.deepEqual(routes.slice(5), [{ kind: 'unknown-local' }, { kind: 'remote', domain: 'elsewhere.example' }, { kind: 'unknown-local' }]);
    // The addresses; team's targets (leads, a0); leads's targets (a1, a2 already known).
    assert.deepEqual(counter.snapshot(), { 'DynamoDB.BatchGetItem': 2 });
    for (const [i, address] of [...accounts, `team@${domain}`].entries()) {
      assert.deepEqual(await directory.resolveRecipient(address), routes[i], `${address}: one at a time resolves alike`);
    }
  } finally {
    destroyAwsClients(clients);
  }
});

test('the junk filter reads an account\'s model once per batch, not once per message', async () => {
  const rig = inboundRig(world);
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const account = (await rig.store.directory.addAccount(`judged@${domain}`, 'pw-not-used')).address;
  const events = await Promise.all(Array.from({ length: BATCH }, (_, i) => storedEvent(rig.blobs, sampleMessage(`judged ${i}`), [account])));
  const counter = new RequestCounter();
  const clients = createAwsClients(world.config.aws, counter);
  const telemetry = new Telemetry();
  try {
    // Composed as the Lambda handler composes it: with the junk filter and its model store.
    const processBatch = createBatchProcessor(composeInbound({ clients, resources: world.config.resources, hostname: 'mx.test', logger: telemetry.logger, metrics: telemetry.metrics }));
    const response = await processBatch({ Records: events.map((e) => sqsRecord(JSON.stringify(e))) });
    assert.deepEqual(response.batchItemFailures, []);
    assert.equal(telemetry.count('MessagesFiled'), BATCH);
  } finally {
    destroyAwsClients(clients);
  }
  // The untrained account's head, read once for the ten copies judged together.
  assert.equal(counter.snapshot()['DynamoDB.GetItem'] ?? 0, 1, JSON.stringify(counter.snapshot()));
});
