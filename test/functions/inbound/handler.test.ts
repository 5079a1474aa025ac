// The deployed shape: the real `handler` export, configured from the environment, invoked by the
// local SQS event source (local/runner.ts) over a real queue with redrive to a DLQ.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { coreConfigToEnv } from '../../../core/config.ts';
import { startSqsEventSource, type BatchOutcome } from '../../../local/runner.ts';
import { handler } from '../../../functions/inbound/handler.ts';
import { inboundRig, sampleMessage, storedEvent, uniqueDomain } from './helpers.ts';

let world: TestWorld;
/** Structured lines (Powertools logs and EMF metrics) the handler wrote to stdout. */
const jsonLines: Array<Record<string, unknown>> = [];
const savedEnv = { ...process.env };
const originalWrites = { stdout: process.stdout.write, stderr: process.stderr.write };

before(async () => {
  world = await startTestWorld();
  Object.assign(process.env, coreConfigToEnv(world.config));
  // Powertools writes strings through a Console (errors to stderr); the test runner's own
  // traffic is not JSON text, so JSON lines are taken aside and everything else passes through.
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = originalWrites[name].bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string' && chunk.startsWith('{')) {
        for (const line of chunk.split('\n').filter(Boolean)) jsonLines.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      }
      return original(chunk, ...rest);
    }) as typeof stream.write;
  }
});
after(async () => {
  process.stdout.write = originalWrites.stdout;
  process.stderr.write = originalWrites.stderr;
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  await world?.close();
});

test('through the real queue: a good event is filed, a poison one lands in the DLQ after maxReceiveCount; logs and metrics are structured', async (t) => {
  const sqs = world.clients.sqs;
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  // A queue like the inbound one but with a 1 s visibility timeout and maxReceiveCount 2, so the
  // redrive happens within the test's time.
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: 'handler-test-dlq' }))).QueueUrl!;
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: 'handler-test',
        Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: '2' }) },
      }),
    )
  ).QueueUrl!;

  const rig = inboundRig(world);
  const domain = uniqueDomain();
  await rig.store.directory.addDomain(domain);
  const demo = (await rig.store.directory.addAccount(`demo@${domain}`, 'pw-not-used')).address;
  const event = await storedEvent(rig.blobs, sampleMessage(), [demo]);
  const poisonId = (await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"version":2}' }))).MessageId!;
  const goodId = (await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }))).MessageId!;

  const outcomes: BatchOutcome[] = [];
  const source = startSqsEventSource({
    sqs,
    queueUrl,
    queueArn: await arnOf(queueUrl),
    region: world.config.aws.region,
    functionName: 'mail-inbound-test',
    handler,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    timeoutSeconds: 30,
    concurrency: 1,
    waitTimeSeconds: 1,
    onBatch: (o) => outcomes.push(o),
  });
  t.after(() => source.stop());

  const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 15, MessageSystemAttributeNames: ['All'] }));
  assert.equal(dead.Messages?.length, 1);
  assert.equal(dead.Messages[0]!.MessageId, poisonId, 'the poison event reached the DLQ');
  await source.stop();

  assert.ok(outcomes.some((o) => o.deleted.includes(goodId)), 'the good event was deleted after filing');
  assert.ok(outcomes.filter((o) => o.retried.includes(poisonId)).length === 2, 'the poison event was reported failed on both receives');
  assert.deepEqual((await rig.store.mailStore.listMessages(demo, 'INBOX')).map((m) => m.uid), [1]);

  const invalid = jsonLines.filter((l) => l.level === 'ERROR' && String(l.message).startsWith('INVALID INBOUND EVENT'));
  assert.equal(invalid.length, 2);
  assert.equal(invalid[0]!.messageId, poisonId);
  assert.equal(invalid[0]!.function_name, 'mail-inbound-test', 'the Lambda context is on every log line');
  assert.equal(invalid[1]!.receiveCount, 2);
  const filed = jsonLines.find((l) => l.message === 'filed');
  assert.equal(filed?.inboundId, event.id);
  const emf = jsonLines.filter((l) => typeof l._aws === 'object');
  const metric = (name: string) => emf.reduce((n, l) => n + (typeof l[name] === 'number' ? (l[name] as number) : 0), 0);
  assert.equal(metric('MessagesFiled'), 1);
  assert.equal(metric('InvalidEvents'), 2);
  assert.equal((emf[0]!._aws as { CloudWatchMetrics: Array<{ Namespace: string }> }).CloudWatchMetrics[0]!.Namespace, 'Mail');
});
