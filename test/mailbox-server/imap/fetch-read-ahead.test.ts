// RFC 3501 §6.4.5 FETCH of many messages: the bodies of later messages are read while earlier
// ones are written (within the session's read budget and a byte bound), yet the responses go out
// in message order (RFC 3501 §7.4.2 gives one "* n FETCH" per message; clients match literals by
// position) and byte-exact; bodies above the streaming threshold are still streamed in turn. A
// body cache shared by the task answers a second read without S3.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchedBlobs } from '../../helpers/watched-blobs.ts';
import { randomBytes } from 'node:crypto';
import { DEFAULT_BLOB_READ_LIMITS } from '../../../core/blob-read-budget.ts';
import { BlobStore } from '../../../core/blobs.ts';
import { BodyCache } from '../../../core/body-cache.ts';
import { createS3Client } from '../../../core/aws/s3.ts';
import { STREAM_ABOVE_OCTETS } from '../../../mailbox-server/imap/fetch-response.ts';
import { BulkClient, literals } from './helpers/bulk-client.ts';
import { ALICE, BOB, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const KiB = 1024;
const taggedOk = (tag: string) => new RegExp(`\\r\\n${tag} OK[^\\r\\n]*\\r\\n$`);
const tagged = (tag: string) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n$`);

/** A body of about `octets` octets in 76-character lines; the first line names the message. */
const body = (name: string, octets: number) => `${name}\r\n${randomBytes(Math.ceil((octets * 3) / 4)).toString('base64').slice(0, octets).replace(/.{76}/g, '$&\r\n')}\r\n`;

/** Each "* n FETCH" of a response, in the order written, with its literals. */
function fetchResponses(response: Buffer): Array<{ msn: number; literals: Buffer[] }> {
  const out: Array<{ msn: number; literals: Buffer[] }> = [];
  let at = 0;
  for (;;) {
    const start = response.indexOf('* ', at);
    if (start === -1 || !/^\* \d+ FETCH /.test(response.subarray(start, start + 30).toString('latin1'))) return out;
    const msn = Number(/^\* (\d+)/.exec(response.subarray(start, start + 20).toString('latin1'))![1]);
    // Walk the literals of this response; it ends at the CRLF after its closing parenthesis.
    const found: Buffer[] = [];
    let pos = start;
    for (;;) {
      const crlf = response.indexOf('\r\n', pos);
      const line = response.subarray(pos, crlf).toString('latin1');
      const literal = /\{(\d+)\}$/.exec(line);
      if (!literal) {
        at = crlf + 2;
        break;
      }
      const n = Number(literal[1]);
      found.push(response.subarray(crlf + 2, crlf + 2 + n));
      pos = crlf + 2 + n;
    }
    out.push({ msn, literals: found });
  }
}

describe('FETCH of many messages reads ahead, writes in order', () => {
  let w: ImapWorld;
  let watched: WatchedBlobs;
  let port: number;
  /** Alice's INBOX, in order: small, large (streamed) and empty-bodied messages mixed. */
  const mixed: Buffer[] = [];
  const keyOf = new Map<number, string>();

  before(async () => {
    w = await startImapWorld();
    watched = new WatchedBlobs(w.blobs);
    port = (await w.startServer({ blobs: watched })).ports.imap!;
    const sizes = [300, 10 * KiB, 100 * KiB, 2 * KiB, 0, 70 * KiB, 30 * KiB, 5, 50 * KiB, 8 * KiB, 200 * KiB, 1 * KiB];
    for (let round = 0; round < 2; round++) {
      for (const [i, size] of sizes.entries()) {
        mixed.push(Buffer.from(sampleMessage(`m${round}-${i}`, size === 0 ? '' : body(`m${round}-${i}`, size))));
      }
    }
    for (const raw of mixed) await w.deliver(ALICE.user, raw);
    assert.ok(mixed.some((m) => m.length > STREAM_ABOVE_OCTETS) && mixed.some((m) => m.length < 1024), 'sizes on both sides of the threshold');
    const items = await w.store.mailStore.getMessages((await w.store.mailStore.getMailbox(ALICE.user, 'INBOX'))!.id, mixed.map((_, i) => i + 1));
    for (const item of items) keyOf.set(item.uid, item.blobKey);
  });
  after(async () => {
    await w?.close();
  });

  test('responses in message order, byte-exact, while the reads behind them finish out of order', async (t) => {
    const alice = await BulkClient.login(port, ALICE);
    t.after(() => alice.close());
    watched.reset();
    // The earlier a read is asked for, the longer it takes: read ahead, later bodies arrive first.
    watched.delayMs = (_key, nth) => Math.max(0, 60 - nth * 5);
    const response = await alice.exchange('a FETCH 1:* (UID RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (SUBJECT)])', taggedOk('a'), 60_000);
    const responses = fetchResponses(response);
    assert.deepEqual(responses.map((r) => r.msn), mixed.map((_, i) => i + 1), 'one response per message, in order');
    for (const [i, r] of responses.entries()) {
      assert.equal(r.literals.length, 2, `message ${i + 1}: BODY[] and the Subject field`);
      assert.ok(r.literals[0]!.equals(mixed[i]!), `message ${i + 1}: BODY[] is the stored message`);
      assert.equal(r.literals[1]!.toString('latin1'), `Subject: m${Math.floor(i / 12)}-${i % 12}\r\n\r\n`);
    }
    assert.ok(watched.mostOpen > 1, `reads overlapped (at most ${watched.mostOpen} open)`);
    assert.ok(watched.mostOpen <= DEFAULT_BLOB_READ_LIMITS.perSession, `within the session's budget: ${watched.mostOpen}`);
    const askedOrder = mixed.map((_, i) => keyOf.get(i + 1)).filter((k) => watched.finished.includes(k!));
    assert.notDeepEqual(watched.finished.filter((k, i, all) => all.indexOf(k) === i), askedOrder, 'the reads did finish out of order');
    assert.equal(watched.streams, mixed.filter((m) => m.length > STREAM_ABOVE_OCTETS).length, 'each large body streamed once, in its turn');
  });

  test('a read that fails before its response starts answers NO after the complete responses before it; the session goes on', async (t) => {
    const alice = await BulkClient.login(port, ALICE);
    t.after(() => alice.close());
    watched.reset();
    watched.failKey = keyOf.get(4)!; // a small message: read ahead
    const response = await alice.exchange('b FETCH 1:* (BODY.PEEK[])', tagged('b'), 60_000);
    assert.match(response.toString('latin1'), /\r\nb NO [^\r\n]*\r\n$/);
    const responses = fetchResponses(response);
    assert.deepEqual(responses.map((r) => r.msn), [1, 2, 3]);
    assert.ok(responses.every((r, i) => r.literals[0]!.equals(mixed[i]!)));
    watched.reset();
    assert.match((await alice.exchange('c NOOP', tagged('c'))).toString('latin1'), /c OK/);
  });

  test('with the AWS latency model on S3, one FETCH has several reads in flight at once', async (t) => {
    const s3 = createS3Client({ ...w.world.config.aws, latency: { medianMs: { s3: 30, dynamodb: 0, sqs: 0 }, bytesPerMs: 80_000, seed: 7 } });
    t.after(() => s3.destroy());
    const slow = new WatchedBlobs(new BlobStore(s3, w.world.config.resources.bucket));
    const server = await w.startServer({ blobs: slow });
    const messages = Array.from({ length: 20 }, (_, i) => Buffer.from(sampleMessage(`bob-${i}`, body(`bob-${i}`, 4 * KiB))));
    for (const raw of messages) await w.deliver(BOB.user, raw);
    const bob = await BulkClient.login(server.ports.imap!, BOB);
    t.after(() => bob.close());
    const response = await bob.exchange('d FETCH 1:20 (BODY.PEEK[])', taggedOk('d'), 60_000);
    assert.deepEqual(literals(response), messages);
    t.diagnostic(`S3 reads open at once: at most ${slow.mostOpen}`);
    assert.ok(slow.mostOpen >= 4, `the reads overlapped: at most ${slow.mostOpen} open at once`);
    assert.ok(slow.mostOpen <= DEFAULT_BLOB_READ_LIMITS.perSession, `within the session's read budget: ${slow.mostOpen}`);
  });

  test('a FETCH of many bodies just below the streaming threshold: many reads in flight, never more octets than the session\'s bound', async (t) => {
    const counted = new WatchedBlobs(w.blobs);
    const server = await w.startServer({ blobs: counted });
    const near = STREAM_ABOVE_OCTETS - 4 * KiB;
    const messages = Array.from({ length: 24 }, (_, i) => Buffer.from(sampleMessage(`near-${i}`, body(`near-${i}`, near))));
    assert.ok(messages.every((m) => m.length <= STREAM_ABOVE_OCTETS), 'each one is read whole, ahead of its turn');
    const total = messages.reduce((n, m) => n + m.length, 0);
    assert.ok(total > DEFAULT_BLOB_READ_LIMITS.perSessionOctets, 'more than the bound in all');
    for (const raw of messages) await w.deliver(ALICE.user, raw, { mailbox: 'Archive' });
    const alice = await BulkClient.login(server.ports.imap!, ALICE);
    t.after(() => alice.close());
    await alice.exchange('s2 SELECT Archive', taggedOk('s2'));
    // Every read takes a while, so those started ahead pile up to whatever bound there is.
    counted.delayMs = () => 20;
    const response = await alice.exchange('n FETCH 1:* (BODY.PEEK[])', taggedOk('n'), 60_000);
    assert.deepEqual(literals(response), messages);
    t.diagnostic(`reads open at once: ${counted.mostOpen}, octets: ${counted.mostOpenOctets} of ${total}`);
    assert.ok(counted.mostOpenOctets <= DEFAULT_BLOB_READ_LIMITS.perSessionOctets, `octets in flight ${counted.mostOpenOctets} within the session's ${DEFAULT_BLOB_READ_LIMITS.perSessionOctets}`);
    assert.ok(counted.mostOpen > 8, `more than 8 reads in flight: ${counted.mostOpen}`);
  });

  test('with a body cache, a second FETCH (in another session too) reads only the large bodies again', async (t) => {
    const cached = new WatchedBlobs(w.blobs);
    const server = await w.startServer({ blobs: cached, bodyCache: new BodyCache() });
    const first = await BulkClient.login(server.ports.imap!, ALICE);
    const second = await BulkClient.login(server.ports.imap!, ALICE);
    t.after(() => {
      first.close();
      second.close();
    });
    assert.deepEqual(literals(await first.exchange('e FETCH 1:* (BODY.PEEK[])', taggedOk('e'), 60_000)), mixed);
    const small = mixed.filter((m) => m.length > 0 && m.length <= STREAM_ABOVE_OCTETS).length;
    const large = mixed.length - small;
    assert.equal(cached.ranges, small);
    cached.reset();
    assert.deepEqual(literals(await second.exchange('f FETCH 1:* (BODY.PEEK[])', taggedOk('f'), 60_000)), mixed);
    assert.equal(cached.ranges, 0, 'every small body came from the cache');
    assert.equal(cached.streams, large, 'large bodies are streamed from S3 each time');
    cached.reset();
    assert.deepEqual(literals(await first.exchange('g UID FETCH 2 (BODY.PEEK[])', taggedOk('g'))), [mixed[1]]);
    assert.equal(cached.ranges + cached.streams, 0);
  });
});
