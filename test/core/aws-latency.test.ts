// The AWS latency model (core/aws/latency.ts): configuration, the shape of its waits, and real
// SDK clients against the emulators waiting at least what the model drew for each request.
// Only lower bounds are asserted (a timer never fires early); speed itself is the benchmarks' job.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClients } from '../../core/aws/dynamodb.ts';
import { LatencyDraw, latencyModelFromEnv, latencyModelToEnv, type LatencyModel } from '../../core/aws/latency.ts';
import { createS3Client } from '../../core/aws/s3.ts';
import { createSqsClient } from '../../core/aws/sqs.ts';
import { coreConfigFromEnv, coreConfigToEnv } from '../../core/config.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(async () => {
  await world?.close();
});

test('MAIL_AWS_LATENCY: `aws`, per-service milliseconds, `off`; anything else is refused', () => {
  assert.equal(latencyModelFromEnv({}), null);
  assert.equal(latencyModelFromEnv({ MAIL_AWS_LATENCY: 'off' }), null);
  assert.deepEqual(latencyModelFromEnv({ MAIL_AWS_LATENCY: 'aws' })?.medianMs, { s3: 30, dynamodb: 5, sqs: 10 });
  assert.deepEqual(latencyModelFromEnv({ MAIL_AWS_LATENCY: 's3=12.5, sqs=3' })?.medianMs, { s3: 12.5, dynamodb: 0, sqs: 3 });
  assert.throws(() => latencyModelFromEnv({ MAIL_AWS_LATENCY: 's3=fast' }), /MAIL_AWS_LATENCY/);
  assert.throws(() => latencyModelFromEnv({ MAIL_AWS_LATENCY: 'ec2=5' }), /MAIL_AWS_LATENCY/);
  assert.throws(() => latencyModelFromEnv({ MAIL_AWS_LATENCY: 'aws', MAIL_AWS_LATENCY_MBPS: '0' }), /MBPS/);
  const model = latencyModelFromEnv({ MAIL_AWS_LATENCY: 's3=30,dynamodb=5,sqs=10', MAIL_AWS_LATENCY_MBPS: '50', MAIL_AWS_LATENCY_SEED: '7' })!;
  assert.deepEqual(latencyModelFromEnv(latencyModelToEnv(model)), model);
});

test('the model travels with the core configuration to child processes', () => {
  const env = { ...coreConfigToEnv(world.config), MAIL_AWS_LATENCY: 'aws' };
  const config = coreConfigFromEnv(env);
  assert.deepEqual(config.aws.latency?.medianMs, { s3: 30, dynamodb: 5, sqs: 10 });
  assert.equal(coreConfigToEnv(config).MAIL_AWS_LATENCY, 's3=30,dynamodb=5,sqs=10');
  assert.equal(coreConfigFromEnv(coreConfigToEnv(world.config)).aws.latency, null);
});

test('waits: seeded (the same sequence twice), median as configured, a tail near 2.5× at p99, bytes at the bandwidth', () => {
  const model: LatencyModel = { medianMs: { s3: 30, dynamodb: 5, sqs: 10 }, bytesPerMs: 80_000, seed: 3 };
  const a = new LatencyDraw(model, 's3');
  const b = new LatencyDraw(model, 's3');
  const draws = Array.from({ length: 20_001 }, () => a.nextMs(0));
  assert.deepEqual(Array.from({ length: 20_001 }, () => b.nextMs(0)), draws);
  const sorted = [...draws].sort((x, y) => x - y);
  const median = sorted[10_000]!;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  assert.ok(Math.abs(median - 30) < 1.5, `median ${median}`);
  assert.ok(p99 / median > 2.2 && p99 / median < 2.8, `p99 / median ${p99 / median}`);
  assert.ok(draws.every((d) => d > 0));
  // 8 MB at 80 MB/s is 100 ms on top of the round trip
  const other = new LatencyDraw(model, 's3');
  const same = new LatencyDraw(model, 's3');
  assert.ok(Math.abs(other.nextMs(8_000_000) - same.nextMs(0) - 100) < 1e-9);
  assert.notDeepEqual(new LatencyDraw(model, 'sqs').nextMs(0), new LatencyDraw(model, 's3').nextMs(0));
});

test('real SDK clients against the emulators wait at least what the model drew, per service', async () => {
  const model: LatencyModel = { medianMs: { s3: 40, dynamodb: 20, sqs: 30 }, bytesPerMs: 80_000, seed: 11 };
  const config = { ...world.config.aws, latency: model };
  const s3 = createS3Client(config);
  const sqs = createSqsClient(config);
  const { dynamodb } = createDynamoDbClients(config);
  try {
    const requests = 5;
    const cases = [
      { service: 's3' as const, send: () => s3.send(new HeadBucketCommand({ Bucket: world.config.resources.bucket })) },
      { service: 'sqs' as const, send: () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: world.config.resources.queues.inbound, AttributeNames: ['All'] })) },
      { service: 'dynamodb' as const, send: () => dynamodb.send(new DescribeTableCommand({ TableName: world.config.resources.tables.directory })) },
    ];
    for (const { service, send } of cases) {
      // the client's draws, replayed: requests without a body wait exactly the round-trip draw
      const replay = new LatencyDraw(model, service);
      const expected = Array.from({ length: requests }, () => replay.nextMs(0)).reduce((sum, ms) => sum + ms, 0);
      const started = performance.now();
      for (let i = 0; i < requests; i++) await send();
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= expected - 1, `${service}: ${requests} requests took ${elapsed.toFixed(1)} ms, the model drew ${expected.toFixed(1)} ms`);
    }
  } finally {
    s3.destroy();
    sqs.destroy();
    dynamodb.destroy();
  }
});

test('never against real AWS: a client without an endpoint override refuses the model', () => {
  const model: LatencyModel = { medianMs: { s3: 30, dynamodb: 5, sqs: 10 }, bytesPerMs: 80_000, seed: 1 };
  const real = { region: 'us-east-1', endpoints: {}, latency: model };
  assert.throws(() => createS3Client(real), /emulators only/);
  assert.throws(() => createSqsClient(real), /emulators only/);
  assert.throws(() => createDynamoDbClients(real), /emulators only/);
});
