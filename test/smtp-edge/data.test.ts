// DATA refusals and faults (docs/ARCHITECTURE.md, invariant 1): whatever goes wrong before the blob is in
// S3 and the event is in SQS, the client gets no 250 and no event is queued.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { S3Client, GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BlobStore } from '../../core/blobs.ts';
import { QueueSender } from '../../core/queues.ts';
import { createStore } from '../../core/store/index.ts';
import type { ServiceLog, LogFields } from '../../core/log.ts';
import { startSmtpEdge, type SmtpEdge } from '../../smtp-edge/server.ts';
import { expectReply, openTransaction, SmtpWire, rawKeys, receiveInbound, startEdge, startEdgeWorld, type EdgeWorld } from './helpers.ts';

const LIMIT = 64 * 1024;
let world: EdgeWorld;
let edge: SmtpEdge;
let port: number;

before(async () => {
  world = await startEdgeWorld({ mail: { maxMessageBytes: LIMIT } });
  edge = await startSmtpEdge(world.edgeOptions);
  port = edge.ports.mx!;
});
after(async () => {
  await edge?.close();
  await world?.close();
});

/** Nothing may be queued by any test in this file, and (unless said) nothing stored. */
async function assertNothingFiled(options: { blobsAllowed?: boolean } = {}): Promise<void> {
  assert.deepEqual(await receiveInbound(world.world, 0), [], 'no inbound event');
  if (!options.blobsAllowed) assert.deepEqual(await rawKeys(world.world), [], 'no raw blob');
}

/** A loopback port nothing listens on: a dependency that is down. */
async function deadEndpoint(): Promise<string> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port: dead } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${dead}`;
}

/** A log that lets a test wait for an event the edge reports. */
function watchedLog(): ServiceLog & { next(event: string): Promise<LogFields> } {
  const waiting = new Map<string, (f: LogFields) => void>();
  const seen: Array<[string, LogFields]> = [];
  const record = (event: string, fields: LogFields = {}) => {
    seen.push([event, fields]);
    waiting.get(event)?.(fields);
  };
  return {
    info: record, warn: record, error: record,
    next: (event) => new Promise((resolve) => {
      const done = seen.find(([e]) => e === event);
      if (done) return resolve(done[1]);
      waiting.set(event, resolve);
    }),
  };
}

test('oversize without SIZE=: 552 5.3.4 after the data, nothing filed, session usable', async (t) => {
  const wire = await openTransaction(port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  const line = 'x'.repeat(998) + '\r\n';
  wire.write('Subject: big\r\n\r\n' + line.repeat(Math.ceil((LIMIT * 2) / line.length)));
  assert.match(await wire.command('.'), /^552 5\.3\.4 /);
  assert.match(await wire.command('NOOP'), /^250 /);
  await assertNothingFiled();
});

test('oversize with a SIZE= that lied: 552 5.3.4, nothing filed', async (t) => {
  const { wire } = await SmtpWire.connect(port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO liar.test'), /^250 /m);
  await expectReply(wire.command('MAIL FROM:<a@remote.test> SIZE=100'), /^250 /);
  await expectReply(wire.command('RCPT TO:<demo@example.test>'), /^250 /);
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: big\r\n\r\n' + ('y'.repeat(78) + '\r\n').repeat(Math.ceil(LIMIT / 80) + 10));
  assert.match(await wire.command('.'), /^552 5\.3\.4 /);
  await assertNothingFiled();
});

test('client disconnects mid-DATA: nothing queued, nothing stored', async (t) => {
  const log = watchedLog();
  const watched = await startEdge(t, world, { log });
  const wire = await openTransaction(watched.port);
  await expectReply(wire.command('DATA'), /^354 /);
  wire.write('Subject: cut\r\n\r\n' + 'partial line\r\n'.repeat(500));
  wire.destroy();
  const refused = await log.next('smtp.message-refused');
  assert.equal(refused.reply, 'client-gone');
  await assertNothingFiled();
});

test('S3 down: 451 4.3.0 and no event', async (t) => {
  const { aws } = world.world.config;
  const s3 = new S3Client({ region: aws.region, credentials: aws.credentials!, endpoint: await deadEndpoint(), forcePathStyle: true, maxAttempts: 1 });
  t.after(() => s3.destroy());
  const broken = await startEdge(t, world, { blobs: new BlobStore(s3, world.world.config.resources.bucket) });
  const wire = await openTransaction(broken.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  const reply = await wire.command('Subject: s3 down\r\n\r\nhello\r\n.');
  assert.match(reply, /^451 4\.3\.0 /);
  assert.match(await wire.command('NOOP'), /^250 /);
  await assertNothingFiled();
});

test('SQS down: 451 4.3.0, no event; the stored blob is tagged as an orphan', async (t) => {
  const { aws } = world.world.config;
  const sqs = new SQSClient({ region: aws.region, credentials: aws.credentials!, endpoint: await deadEndpoint(), maxAttempts: 1 });
  t.after(() => sqs.destroy());
  const broken = await startEdge(t, world, { queue: new QueueSender(sqs) });
  const wire = await openTransaction(broken.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('DATA'), /^354 /);
  assert.match(await wire.command('Subject: sqs down\r\n\r\nhello\r\n.'), /^451 4\.3\.0 /);
  await assertNothingFiled({ blobsAllowed: true });
  const keys = await rawKeys(world.world);
  assert.equal(keys.length, 1);
  const tags = await world.world.clients.s3.send(new GetObjectTaggingCommand({ Bucket: world.world.config.resources.bucket, Key: keys[0]! }));
  assert.deepEqual(tags.TagSet, [{ Key: 'mail-orphan', Value: 'true' }]);
});

test('directory (DynamoDB) down: RCPT gets 451 4.3.0', async (t) => {
  const { aws } = world.world.config;
  const dynamodb = new DynamoDBClient({ region: aws.region, credentials: aws.credentials!, endpoint: await deadEndpoint(), maxAttempts: 1 });
  t.after(() => dynamodb.destroy());
  const doc = DynamoDBDocumentClient.from(dynamodb);
  const broken = await startEdge(t, world, { directory: createStore(doc, world.world.config.resources).directory });
  const { wire } = await SmtpWire.connect(broken.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command('MAIL FROM:<a@remote.test>'), /^250 /);
  assert.match(await wire.command('RCPT TO:<demo@example.test>'), /^451 4\.3\.0 /);
});

test('an RCPT flood is answered from the route cache, not from DynamoDB', async (t) => {
  const fresh = await startEdge(t, world);
  const wire = await openTransaction(fresh.port, 'demo@example.test');
  t.after(() => wire.destroy());
  const before = world.world.counter.snapshot();
  const lines = [];
  for (let i = 0; i < 60; i++) lines.push(i % 2 ? 'RCPT TO:<demo@example.test>' : 'RCPT TO:<ghost@example.test>');
  wire.write(lines.map((l) => l + '\r\n').join(''));
  for (let i = 0; i < 60; i++) assert.match(await wire.reply(), i % 2 ? /^250 / : /^550 5\.1\.1 /);
  const afterCounts = world.world.counter.snapshot();
  const dynamoCalls = Object.entries(afterCounts)
    .filter(([k]) => k.startsWith('DynamoDB.'))
    .reduce((n, [k, v]) => n + v - (before[k] ?? 0), 0);
  // one resolution of ghost@ (demo@ was cached by openTransaction): a handful of reads, not 60
  assert.ok(dynamoCalls <= 6, `DynamoDB calls for 60 RCPTs: ${dynamoCalls}`);
});
