// The upload whose first part is sent last (core/held-head-upload.ts), on the S3 emulator: a small
// message is one PutObject at the end; a large one streams its later parts while the data is
// still coming, then the held part with what goes in front; an abort leaves no object.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { HeldHeadUpload, MIN_PART_BYTES } from '../../core/held-head-upload.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';

let world: TestWorld;
let s3: S3Client;
const sent: string[] = [];

before(async () => {
  world = await startTestWorld();
  s3 = world.clients.s3;
  s3.middlewareStack.add((next, context) => async (args) => {
    sent.push(String(context.commandName).replace(/Command$/, ''));
    return next(args);
  }, { step: 'initialize', name: 'recordCommands' });
});
after(async () => {
  await world?.close();
});

const bucket = () => world.config.resources.bucket;
async function read(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

function pattern(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

test('a small message: one PutObject at the end, the prefix and the rewritten head in front', async () => {
  sent.length = 0;
  const upload = new HeldHeadUpload(s3, bucket(), 'raw/test/small.eml');
  assert.equal(upload.write(Buffer.from('Subject: x\r\n\r\nbody\r\n')), true);
  assert.deepEqual(sent, [], 'nothing sent before the end');
  await upload.finish(Buffer.from('Top: 1\r\n'), (head) => Buffer.from(head.toString().replace('x', 'y')));
  assert.deepEqual(sent, ['PutObject']);
  assert.equal((await read('raw/test/small.eml')).toString(), 'Top: 1\r\nSubject: y\r\n\r\nbody\r\n');
});

test('a 17 MiB message: later parts go out while data still arrives, the held first part last, byte for byte', async () => {
  sent.length = 0;
  const upload = new HeldHeadUpload(s3, bucket(), 'raw/test/large.eml');
  const body = pattern(17 * 1024 * 1024, 7);
  const chunk = 64 * 1024;
  for (let at = 0; at < body.length; at += chunk) {
    if (!upload.write(body.subarray(at, at + chunk))) await upload.drained();
  }
  const before = [...sent];
  assert.ok(before.includes('CreateMultipartUpload') && before.filter((c) => c === 'UploadPart').length >= 2, `parts streamed before the end: ${before.join(',')}`);
  assert.equal(upload.heldHeadBytes, MIN_PART_BYTES, 'the held part is one part, not the message');
  const prefix = Buffer.from('Authentication-Results: mx.test; spf=none\r\n');
  await upload.finish(prefix);
  assert.equal(sent.at(-1), 'CompleteMultipartUpload');
  assert.ok((await read('raw/test/large.eml')).equals(Buffer.concat([prefix, body])));
});

test('abort: no object under the key, after parts were sent', async () => {
  const upload = new HeldHeadUpload(s3, bucket(), 'raw/test/aborted.eml');
  const body = pattern(11 * 1024 * 1024, 3);
  for (let at = 0; at < body.length; at += 1024 * 1024) {
    if (!upload.write(body.subarray(at, at + 1024 * 1024))) await upload.drained();
  }
  await upload.abort();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: 'raw/test/aborted' }));
  assert.equal(listed.KeyCount ?? 0, 0);
});
