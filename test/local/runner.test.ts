// The SQS event-source runner against fauxqs: AWS Lambda's batch, failure, timeout and redrive rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { judgeBatchResponse, startSqsEventSource, type BatchOutcome, type SqsEventSourceOptions } from '../../local/runner.ts';

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

let queueCounter = 0;
/** A fresh queue with a DLQ, a short visibility timeout (longer than the batching window used) and the given maxReceiveCount. */
async function freshQueue(maxReceiveCount = 5, visibilityTimeoutSeconds = 1): Promise<{ url: string; arn: string; dlqUrl: string }> {
  const name = `runner-${++queueCounter}`;
  const sqs = world.clients.sqs;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = await arnOf(dlq.QueueUrl!);
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(maxReceiveCount) }),
      },
    }),
  );
  return { url: main.QueueUrl!, arn: await arnOf(main.QueueUrl!), dlqUrl: dlq.QueueUrl! };
}
async function arnOf(url: string): Promise<string> {
  const a = await world.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return a.Attributes!.QueueArn!;
}
async function send(url: string, body: string): Promise<string> {
  const r = await world.clients.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: body,
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
    }),
  );
  return r.MessageId!;
}

/** Outcomes as they arrive, and a way to wait for the one a test needs (no sleeps). */
class Outcomes {
  readonly all: BatchOutcome[] = [];
  private waiters: Array<() => void> = [];
  readonly record = (o: BatchOutcome) => {
    this.all.push(o);
    for (const w of this.waiters.splice(0)) w();
  };
  async until(predicate: (all: BatchOutcome[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.all)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; outcomes: ${JSON.stringify(this.all.map((o) => [o.verdict, o.messageIds]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

function runner(
  queue: { url: string; arn: string },
  handler: SqsEventSourceOptions['handler'],
  outcomes: Outcomes,
  overrides: Partial<SqsEventSourceOptions> = {},
) {
  return startSqsEventSource({
    sqs: world.clients.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    region: world.config.aws.region,
    functionName: 'test-fn',
    handler,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    timeoutSeconds: 10,
    concurrency: 1,
    waitTimeSeconds: 1,
    onBatch: outcomes.record,
    ...overrides,
  });
}

test('a partial batch failure deletes only the successes; the failed record comes back with its receive count raised', async (t) => {
  const queue = await freshQueue(5, 2);
  const [a, b, c] = [await send(queue.url, 'A'), await send(queue.url, 'B'), await send(queue.url, 'C')];
  const seen: SQSRecord[][] = [];
  const outcomes = new Outcomes();
  const source = runner(
    queue,
    async (event) => {
      seen.push(event.Records);
      if (seen.length === 1) return { batchItemFailures: [{ itemIdentifier: b }] };
    },
    outcomes,
    { maxBatchingWindowSeconds: 1 },
  );
  t.after(() => source.stop());
  await outcomes.until((all) => all.some((o) => o.messageIds.includes(b) && o.verdict === 'success'), 'B to succeed');

  const first = outcomes.all[0]!;
  assert.deepEqual(new Set(first.messageIds), new Set([a, b, c]), 'the window gathered all three into one batch');
  assert.equal(first.verdict, 'partial');
  assert.deepEqual(new Set(first.deleted), new Set([a, c]));
  assert.deepEqual(first.retried, [b]);
  const redelivered = seen.slice(1).flat();
  assert.deepEqual(redelivered.map((r) => r.messageId), [b], 'only B is redelivered');
  assert.equal(redelivered[0]!.attributes.ApproximateReceiveCount, '2');

  // The record has the shape Lambda gives handlers.
  const record = seen[0]!.find((r) => r.messageId === a)!;
  assert.equal(record.body, 'A');
  assert.equal(record.eventSource, 'aws:sqs');
  assert.equal(record.eventSourceARN, queue.arn);
  assert.equal(record.awsRegion, world.config.aws.region);
  assert.equal(record.md5OfBody, createHash('md5').update('A').digest('hex'));
  assert.equal(record.attributes.ApproximateReceiveCount, '1');
  assert.match(record.attributes.SentTimestamp, /^\d{13}$/);
  assert.match(record.attributes.ApproximateFirstReceiveTimestamp, /^\d{13}$/);
  assert.equal(typeof record.attributes.SenderId, 'string');
  assert.deepEqual(record.messageAttributes.kind, { dataType: 'String', stringValue: 'test', stringListValues: [], binaryListValues: [] });
  assert.ok(record.receiptHandle.length > 0);
});

test('a thrown error deletes nothing: every record is redelivered with ApproximateReceiveCount 2', async (t) => {
  const queue = await freshQueue(5, 2);
  const ids = [await send(queue.url, 'one'), await send(queue.url, 'two')];
  const outcomes = new Outcomes();
  const counts = new Map<string, string[]>();
  const source = runner(
    queue,
    async (event) => {
      for (const r of event.Records) counts.set(r.messageId, [...(counts.get(r.messageId) ?? []), r.attributes.ApproximateReceiveCount]);
      if (event.Records.some((r) => r.attributes.ApproximateReceiveCount === '1')) throw new Error('database unavailable');
    },
    outcomes,
    { maxBatchingWindowSeconds: 1 },
  );
  t.after(() => source.stop());
  await outcomes.until((all) => ids.every((id) => all.some((o) => o.verdict === 'success' && o.deleted.includes(id))), 'both to succeed');
  const failed = outcomes.all.filter((o) => o.verdict === 'error');
  assert.ok(failed.length >= 1);
  for (const o of failed) assert.deepEqual(o.deleted, []);
  assert.match(String((failed[0]!.error as Error).message), /database unavailable/);
  for (const id of ids) assert.deepEqual(counts.get(id), ['1', '2']);
});

test('a poison message lands in the DLQ after maxReceiveCount receives, and is not invoked again', async (t) => {
  const queue = await freshQueue(2);
  const poison = await send(queue.url, 'poison');
  const outcomes = new Outcomes();
  let invocations = 0;
  const source = runner(
    queue,
    async () => {
      invocations++;
      throw new Error('cannot parse');
    },
    outcomes,
  );
  t.after(() => source.stop());
  const dead = await world.clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 10, MessageSystemAttributeNames: ['All'] }),
  );
  assert.equal(dead.Messages?.[0]?.MessageId, poison, 'the poison message reached the DLQ');
  assert.equal(dead.Messages[0]!.Body, 'poison');
  assert.equal(invocations, 2, 'invoked exactly maxReceiveCount times');
  assert.ok(outcomes.all.every((o) => o.verdict === 'error'));
});

test('the batching window gathers records that arrive while it is open; with no window a batch is invoked at once', async (t) => {
  for (const windowSeconds of [1, 0]) {
    const queue = await freshQueue(5, 2);
    // A client that sends a second message right after the runner's first receive returns one,
    // so the second one is certain to arrive inside the window.
    const sqs = new SQSClient({ region: world.config.aws.region, endpoint: world.config.aws.endpoints.sqs, credentials: world.config.aws.credentials! });
    t.after(() => sqs.destroy());
    let secondId: Promise<string> | undefined;
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const out = result.output as { Messages?: unknown[] };
        if (context.commandName === 'ReceiveMessageCommand' && out.Messages?.length && !secondId) secondId = send(queue.url, 'second');
        return result;
      },
      { step: 'initialize', name: 'sendSecondAfterFirstReceive' },
    );
    const firstId = await send(queue.url, 'first');
    const outcomes = new Outcomes();
    const source = runner(queue, async () => undefined, outcomes, { sqs, maxBatchingWindowSeconds: windowSeconds });
    await outcomes.until(() => secondId !== undefined, 'the first receive');
    const second = await secondId!;
    await outcomes.until((all) => all.some((o) => o.deleted.includes(second)), 'the second message');
    await source.stop();
    if (windowSeconds > 0) {
      assert.deepEqual(outcomes.all.map((o) => o.messageIds), [[firstId, second]], `window ${windowSeconds}s: one batch of two`);
    } else {
      assert.deepEqual(outcomes.all.map((o) => o.messageIds), [[firstId], [second]], 'no window: two batches');
    }
  }
});

test('a handler that runs past the function timeout fails the batch; the record is redelivered', async (t) => {
  const queue = await freshQueue();
  const id = await send(queue.url, 'slow');
  const outcomes = new Outcomes();
  const remaining: number[] = [];
  let release!: () => void;
  const hung = new Promise<void>((resolve) => (release = resolve));
  t.after(() => release());
  const source = runner(
    queue,
    async (event, context) => {
      remaining.push(context.getRemainingTimeInMillis());
      if (event.Records[0]!.attributes.ApproximateReceiveCount === '1') await hung;
    },
    outcomes,
    { timeoutSeconds: 1 },
  );
  t.after(() => source.stop());
  await outcomes.until((all) => all.some((o) => o.verdict === 'success'), 'the retry to succeed');
  assert.equal(outcomes.all[0]!.verdict, 'timeout');
  assert.deepEqual(outcomes.all[0]!.deleted, []);
  assert.deepEqual(outcomes.all[0]!.retried, [id]);
  assert.ok(outcomes.all[0]!.durationMs >= 1000);
  assert.deepEqual(outcomes.all[1]!.deleted, [id]);
  assert.ok(remaining.every((ms) => ms > 0 && ms <= 1000), `remaining time honours the timeout: ${remaining}`);
});

test('a batchItemFailures entry naming a record outside the batch fails the whole batch', async (t) => {
  const queue = await freshQueue(5, 2);
  const ids = [await send(queue.url, 'x'), await send(queue.url, 'y')];
  const outcomes = new Outcomes();
  const source = runner(
    queue,
    async (event) => (event.Records[0]!.attributes.ApproximateReceiveCount === '1' ? { batchItemFailures: [{ itemIdentifier: 'not-a-message' }] } : undefined),
    outcomes,
    { maxBatchingWindowSeconds: 1 },
  );
  t.after(() => source.stop());
  await outcomes.until((all) => all.some((o) => o.verdict === 'success'), 'the retry');
  assert.equal(outcomes.all[0]!.verdict, 'invalid-response');
  assert.deepEqual(outcomes.all[0]!.deleted, []);
  assert.deepEqual(new Set(outcomes.all.filter((o) => o.verdict === 'success').flatMap((o) => o.deleted)), new Set(ids));
});

test('batch response rules: empty and null mean success; malformed or unknown identifiers fail everything', () => {
  const ids = new Set(['m1', 'm2']);
  assert.equal(judgeBatchResponse(undefined, ids).verdict, 'success');
  assert.equal(judgeBatchResponse(null, ids).verdict, 'success');
  assert.equal(judgeBatchResponse({}, ids).verdict, 'success');
  assert.equal(judgeBatchResponse({ batchItemFailures: [] }, ids).verdict, 'success');
  assert.equal(judgeBatchResponse({ batchItemFailures: null }, ids).verdict, 'success');
  assert.deepEqual(judgeBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids), { verdict: 'partial', failedIds: ['m2'] });
  assert.equal(judgeBatchResponse({ batchItemFailures: [{ itemIdentifier: '' }] }, ids).verdict, 'invalid-response');
  assert.equal(judgeBatchResponse({ batchItemFailures: [{ itemIdentifier: null }] }, ids).verdict, 'invalid-response');
  assert.equal(judgeBatchResponse({ batchItemFailures: [{ id: 'm1' }] }, ids).verdict, 'invalid-response');
  assert.equal(judgeBatchResponse({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }] }, ids).verdict, 'invalid-response');
  assert.equal(judgeBatchResponse({ batchItemFailures: 'm1' }, ids).verdict, 'invalid-response');
  assert.equal(judgeBatchResponse('ok', ids).verdict, 'invalid-response');
});

test('stop() lets the in-flight batch finish and settle, then stops polling', async (t) => {
  const queue = await freshQueue();
  const id = await send(queue.url, 'in flight');
  const outcomes = new Outcomes();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const invoked = new Promise<void>((resolve) => (started = resolve));
  const events: SQSEvent[] = [];
  const source = runner(
    queue,
    async (event) => {
      events.push(event);
      started();
      await gate;
    },
    outcomes,
    { concurrency: 2, waitTimeSeconds: 1 },
  );
  t.after(() => release());
  await invoked;
  let stopped = false;
  const stopping = source.stop().then(() => (stopped = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(stopped, false, 'stop waits for the in-flight batch');
  release();
  await stopping;
  assert.deepEqual(outcomes.all.map((o) => [o.verdict, o.deleted]), [['success', [id]]]);
  // Nobody polls any more: a new message stays on the queue for others.
  const later = await send(queue.url, 'after stop');
  const left = await world.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 1 }));
  assert.equal(left.Messages?.[0]?.MessageId, later);
  assert.equal(events.length, 1);
});
