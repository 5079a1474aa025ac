// The local stack as `npm start` runs it: first-run set-up, persistence across restarts on the
// same data folder, and the whole pipeline as separate processes that stop without leftovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import nodemailer from 'nodemailer';
import { startLocalStack, DEMO_ADDRESS, type LocalStack } from '../../local/stack.ts';
import { createStore } from '../../core/store/index.ts';
import { startTestStack } from '../helpers/stack.ts';
import { eventually } from '../helpers/eventually.ts';

const RANDOM = { smtp: 0, submission: 0, smtps: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, objectQueue: 0, dynamo: 0 };

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => eventually(probe, what, timeoutMs);

test('first run creates the demo account once; data survives an emulator crash, and a stop and a start on the same folder', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-stack-persist-'));
  let stack: LocalStack | undefined;
  t.after(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = () => startLocalStack({ dataDir, ports: RANDOM, components: ['emulators'], log: () => undefined, graceMs: 3000 });

  stack = await start();
  const first = stack;
  assert.equal(first.demo.createdNow, true);
  assert.equal(first.demo.address, DEMO_ADDRESS);
  const password = first.demo.password!;
  assert.ok(password.length >= 16);
  assert.equal(statSync(first.demo.credentialsFile).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(first.demo.credentialsFile, 'utf8')), { address: DEMO_ADDRESS, password });
  assert.equal(statSync(first.tls.keyFile).mode & 0o777, 0o600);
  const stackFile = JSON.parse(readFileSync(join(dataDir, 'stack.json'), 'utf8'));
  assert.deepEqual(stackFile.config, first.config, 'stack.json holds the configuration mailctl reads');
  const certificate = readFileSync(first.tls.certFile, 'utf8');

  const bucket = first.config.resources.bucket;
  const table = first.config.resources.tables.blobrefs;
  await first.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/persist/1.eml', Body: 'Subject: kept\r\n\r\nhello\r\n' }));
  await first.clients.doc.send(new PutCommand({ TableName: table, Item: { pk: 'persist-test', refs: 2 } }));
  // A message left on the queue must also be there after the restart.
  await first.clients.sqs.send(new SendMessageCommand({ QueueUrl: first.config.resources.queues.outbound, MessageBody: 'pending' }));
  // A crash of the emulators: restarted on the same (randomly chosen) ports, nothing lost.
  const crashedPid = first.pid('emulators');
  const portsBefore = { ...first.ports };
  first.kill('emulators', 'SIGKILL');
  const again = await first.whenReady('emulators');
  assert.notEqual(first.pid('emulators'), crashedPid);
  assert.deepEqual(again.ports, { objectQueue: portsBefore.objectQueue, dynamo: portsBefore.dynamo });
  const survived = await first.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/persist/1.eml' }));
  assert.equal(await survived.Body!.transformToString(), 'Subject: kept\r\n\r\nhello\r\n');
  assert.ok((await first.clients.doc.send(new GetCommand({ TableName: table, Key: { pk: 'persist-test' } }))).Item);

  const emulatorPid = first.pid('emulators');
  await first.stop();
  stack = undefined;
  assert.equal(alive(emulatorPid), false, 'the emulators process is gone after stop()');

  stack = await start();
  assert.equal(stack.demo.createdNow, false);
  assert.equal(stack.demo.password, null, 'a later run does not make a new password');
  const object = await stack.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/persist/1.eml' }));
  assert.equal(await object.Body!.transformToString(), 'Subject: kept\r\n\r\nhello\r\n');
  const item = await stack.clients.doc.send(new GetCommand({ TableName: table, Key: { pk: 'persist-test' } }));
  assert.deepEqual(item.Item, { pk: 'persist-test', refs: 2 });
  const { directory } = createStore(stack.clients, stack.config.resources);
  assert.equal((await directory.verifyPassword(DEMO_ADDRESS, password))?.address, DEMO_ADDRESS, 'the first password still works');
  assert.equal(readFileSync(stack.tls.certFile, 'utf8'), certificate, 'the same certificate is presented after a restart');
  const pending = await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.config.resources.queues.outbound, WaitTimeSeconds: 1 }));
  assert.equal(pending.Messages?.[0]?.Body, 'pending');
});


test('the whole pipeline runs as separate processes: a mail sent over SMTP is filed, a killed runner comes back, stop leaves nothing', async (t) => {
  const stack = await startTestStack();
  t.after(() => stack.close());
  const pids = stack.components.map((c) => stack.pid(c));
  assert.ok(pids.every(alive), `all of ${stack.components.join(', ')} run`);
  assert.notEqual(stack.ports.smtp, 0, 'the bound SMTP port is reported');

  // A runner killed mid-poll can leave fauxqs an orphaned long poll that swallows the next
  // record until the visibility timeout (360 s in core/resources.ts): shorten it for this test.
  await stack.clients.sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: stack.config.resources.queues.inbound, Attributes: { VisibilityTimeout: '3' } }),
  );
  const { mailStore } = createStore(stack.clients, stack.config.resources);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: stack.ports.smtp, secure: false, tls: { rejectUnauthorized: false } });
  t.after(() => transport.close());
  const send = (subject: string) =>
    transport.sendMail({ from: 'alice@example.org', to: DEMO_ADDRESS, subject, text: `body of ${subject}\n` });
  const filed = (subjects: string[]) =>
    until(`${subjects.join(', ')} in INBOX\n${stack.logs.slice(-30).join('\n')}`, async () => {
      const messages = await mailStore.listMessages(DEMO_ADDRESS, 'INBOX');
      const seen = messages.map((m) => m.index.envelope.subject);
      return subjects.every((s) => seen.includes(s)) ? messages : undefined;
    });

  await send('first');
  await filed(['first']);

  const runnerPid = stack.pid('inbound-runner');
  stack.kill('inbound-runner', 'SIGKILL');
  await stack.whenReady('inbound-runner');
  assert.notEqual(stack.pid('inbound-runner'), runnerPid);
  assert.equal(alive(runnerPid), false);
  await send('after restart');
  const messages = await filed(['first', 'after restart']);
  assert.equal(messages.length, 2);

  const allPids = stack.components.map((c) => stack.pid(c));
  await stack.stop();
  for (const pid of allPids) assert.equal(alive(pid), false, `process ${pid} is gone`);
});
