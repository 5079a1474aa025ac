import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { startTestWorld } from '../helpers/emulators.ts';
import { ensureResources } from '../../local/bootstrap.ts';
import { BlobStore } from '../../core/blobs.ts';
import { Readable } from 'node:stream';

test('resources are created once, with DLQ redrive, and creating them again changes nothing', async (t) => {
  const world = await startTestWorld();
  t.after(() => world.close());
  const again = await ensureResources(world.clients, 'mailtest');
  assert.deepEqual(again, world.config.resources);
  const attrs = await world.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: world.config.resources.queues.inbound, AttributeNames: ['All'] }),
  );
  const redrive = JSON.parse(attrs.Attributes!.RedrivePolicy!);
  assert.match(redrive.deadLetterTargetArn, /mailtest-inbound-dlq$/);
  assert.equal(Number(redrive.maxReceiveCount), 5);
  const table = await world.clients.dynamodb.send(new DescribeTableCommand({ TableName: world.config.resources.tables.directory }));
  assert.equal(table.Table?.GlobalSecondaryIndexes?.[0]?.IndexName, 'byDomain');
});

test('blob store streams a large body in and reads exact byte ranges back', async (t) => {
  const world = await startTestWorld();
  t.after(() => world.close());
  const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
  const big = Buffer.alloc(7 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  await blobs.put('raw/test/big.eml', Readable.from([big.subarray(0, 3_000_000), big.subarray(3_000_000)]));
  assert.ok(await blobs.exists('raw/test/big.eml'));
  assert.equal(await blobs.exists('raw/test/missing.eml'), false);
  const range = await blobs.getRange('raw/test/big.eml', 5_242_870, 5_242_900);
  assert.deepEqual(range, big.subarray(5_242_870, 5_242_900));
  assert.deepEqual(await blobs.getBuffer('raw/test/big.eml'), big);
});
