// The S3 client's socket pool (core/aws/client-options.ts): the process lets as many blob reads
// run at once as core/blob-read-budget.ts allows, so the client must not hold them back at the
// SDK's default of 50 sockets. A plain HTTP server stands in for S3 and answers nothing until
// every GetObject sent is open on it at once; with a pool smaller than that it never sees them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_BLOB_READ_LIMITS } from '../../core/blob-read-budget.ts';
import { S3_SOCKETS } from '../../core/aws/client-options.ts';
import { createS3Client } from '../../core/aws/s3.ts';
import { eventually } from '../helpers/eventually.ts';

test('the process\'s blob reads fit the S3 client\'s pool, and the client opens that many sockets at once', async (t) => {
  assert.ok(DEFAULT_BLOB_READ_LIMITS.perProcess < S3_SOCKETS, 'room left for writes beside the reads');
  const reads = DEFAULT_BLOB_READ_LIMITS.perProcess;
  assert.ok(reads > 50, 'more than the SDK\'s default pool');
  const held: ServerResponse[] = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const s3 = createS3Client({
    region: 'us-east-1',
    endpoints: { s3: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sqs: undefined, dynamodb: undefined },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  t.after(() => s3.destroy());
  const gets = Array.from({ length: reads }, (_, i) => s3.send(new GetObjectCommand({ Bucket: 'b', Key: `k${i}` })).then((r) => r.Body!.transformToString()));
  await eventually(() => held.length === reads, `${reads} GetObject requests open at once (saw ${held.length})`, 20_000, 20);
  assert.equal(sockets.size, reads, 'each on a socket of its own');
  for (const res of held) res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1' }).end('x');
  assert.deepEqual(new Set(await Promise.all(gets)), new Set(['x']));
});
