// S3 reads are bounded and ordered: one FETCH reads its body items one at a time, in the order
// written, within a per-session and per-process budget (core/blob-read-budget.ts) that POP3
// RETR shares, so 200 large body items in one command cannot take the S3 connection pool from
// other sessions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchedBlobs } from '../../helpers/watched-blobs.ts';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { BlobReadBudget, ReadSlots } from '../../../core/blob-read-budget.ts';
import { LoginFailureCounter } from '../../../core/login-failures.ts';
import { DynamoMaildropLocks } from '../../../core/store/maildrop-lock.ts';
import { createSelfSignedCertificate } from '../../../core/tls.ts';
import { startPop3Server } from '../../../mailbox-server/pop3/server.ts';
import { STREAM_ABOVE_OCTETS } from '../../../mailbox-server/imap/fetch-response.ts';
import { RawPop3 } from '../pop3/helpers.ts';
import { BulkClient, literals } from './helpers/bulk-client.ts';
import { ALICE, BOB, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

const KiB = 1024;

const taggedOk = (tag: string) => new RegExp(`\\r\\n${tag} OK[^\\r\\n]*\\r\\n$`);

describe('ReadSlots and BlobReadBudget', () => {
  test('slots are handed out in arrival order, and a release is counted once', async () => {
    const slots = new ReadSlots(2);
    const a = await slots.take();
    const b = await slots.take();
    const order: string[] = [];
    const c = slots.take().then((release) => (order.push('c'), release));
    const d = slots.take().then((release) => (order.push('d'), release));
    a();
    a();
    const releaseC = await c;
    assert.equal(slots.busy, 2);
    b();
    const releaseD = await d;
    assert.deepEqual(order, ['c', 'd']);
    releaseC();
    releaseD();
    assert.equal(slots.busy, 0);
  });

  test('a session waits for its own slot without holding one of the process', async () => {
    const gate = new PassThrough();
    const blobs = { getRange: async () => Buffer.from('x'), getStream: async () => gate as Readable };
    const budget = new BlobReadBudget(blobs, { perProcess: 2, perSession: 1, perSessionOctets: KiB * KiB });
    const one = budget.forSession();
    const stream = await one.getStream('k');
    const queued = one.getRange('k', 0, 1);
    assert.equal(budget.busy, 1, 'the second read of the session waits outside the process budget');
    assert.deepEqual(await budget.forSession().getRange('k', 0, 1), Buffer.from('x'), 'another session is served');
    stream.destroy();
    assert.deepEqual(await queued, Buffer.from('x'));
    assert.equal(budget.busy, 0);
  });
});

/** Range reads that finish only when the test says, counting what is open (reads and octets). */
function gatedReads() {
  const open = new Map<number, { octets: number; finish: () => void }>();
  let next = 0;
  const seen = { mostOpen: 0, mostOctets: 0, started: 0 };
  const octetsOpen = () => [...open.values()].reduce((n, r) => n + r.octets, 0);
  const blobs = {
    getRange: (_key: string, start: number, end: number) =>
      new Promise<Buffer>((resolve) => {
        const id = next++;
        seen.started += 1;
        open.set(id, { octets: end - start, finish: () => (open.delete(id), resolve(Buffer.alloc(end - start))) });
        seen.mostOpen = Math.max(seen.mostOpen, open.size);
        seen.mostOctets = Math.max(seen.mostOctets, octetsOpen());
      }),
    getStream: async () => new PassThrough() as Readable,
  };
  /** Finishes the oldest open read. */
  const finishOne = () => [...open.values()][0]!.finish();
  return { blobs, seen, open, finishOne, octetsOpen };
}

/** Lets every read that can start now start (each start is a few promise turns away). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('a session\'s reads in flight are bounded by octets', () => {
  test('ranges of 300 KiB: three fit in 1 MiB, the fourth starts when one finishes; the reader never holds more', async () => {
    const r = gatedReads();
    const budget = new BlobReadBudget(r.blobs, { perProcess: 100, perSession: 64, perSessionOctets: 1024 * KiB });
    const session = budget.forSession();
    const reads = Array.from({ length: 12 }, (_, i) => session.getRange(`k${i}`, 0, 300 * KiB));
    await settle();
    assert.equal(r.open.size, 3, '3 × 300 KiB fit in 1 MiB');
    for (let done = 0; done < 12; done++) {
      r.finishOne();
      await settle();
    }
    assert.equal((await Promise.all(reads)).length, 12);
    assert.equal(r.seen.started, 12);
    assert.ok(r.seen.mostOctets <= 1024 * KiB, `octets in flight: at most ${r.seen.mostOctets}`);
    assert.equal(budget.busy, 0, 'every slot released');
  });

  test('small ranges: as many in flight as the session\'s read count allows, far above the old 8', async () => {
    const r = gatedReads();
    const budget = new BlobReadBudget(r.blobs, { perProcess: 100, perSession: 64, perSessionOctets: 1024 * KiB });
    const session = budget.forSession();
    const reads = Array.from({ length: 100 }, (_, i) => session.getRange(`k${i}`, 0, 10 * KiB));
    await settle();
    assert.equal(r.open.size, 64);
    while (r.open.size > 0) {
      r.finishOne();
      await settle();
    }
    await Promise.all(reads);
    assert.equal(r.seen.mostOpen, 64);
  });

  test('a range larger than the bound waits until the session has nothing in flight, then is read alone', async () => {
    const r = gatedReads();
    const budget = new BlobReadBudget(r.blobs, { perProcess: 100, perSession: 64, perSessionOctets: 1024 * KiB });
    const session = budget.forSession();
    const small = session.getRange('a', 0, 100 * KiB);
    const huge = session.getRange('b', 0, 3 * 1024 * KiB);
    const after = session.getRange('c', 0, 1 * KiB);
    await settle();
    assert.equal(r.open.size, 1, 'the huge range waits, and the one behind it does not overtake');
    r.finishOne();
    await settle();
    assert.deepEqual([...r.open.values()].map((o) => o.octets), [3 * 1024 * KiB], 'alone');
    r.finishOne();
    await settle();
    r.finishOne();
    assert.deepEqual((await Promise.all([small, huge, after])).map((b) => b.length), [100 * KiB, 3 * 1024 * KiB, KiB]);
  });

  test('ReadSlots by weight: granted in order, never above the capacity unless alone', async () => {
    const slots = new ReadSlots(10);
    const a = await slots.take(6);
    const order: string[] = [];
    const b = slots.take(6).then((release) => (order.push('b'), release));
    const c = slots.take(1).then((release) => (order.push('c'), release));
    await settle();
    assert.deepEqual(order, [], 'c waits behind b though it would fit');
    assert.equal(slots.busy, 6);
    a();
    const releaseB = await b;
    const releaseC = await c;
    assert.deepEqual(order, ['b', 'c']);
    assert.equal(slots.busy, 7);
    releaseB();
    releaseC();
    const huge = await slots.take(25);
    assert.equal(slots.busy, 25, 'heavier than the capacity, granted when nothing else is held');
    huge();
    assert.equal(slots.busy, 0);
  });
});

describe('one FETCH of 200 large body items', () => {
  let w: ImapWorld;
  let blobs: WatchedBlobs;
  let budget: BlobReadBudget;
  let port: number;
  let big: Buffer;

  before(async () => {
    w = await startImapWorld();
    blobs = new WatchedBlobs(w.blobs);
    budget = new BlobReadBudget(blobs);
    port = (await w.startServer({ blobs, blobReads: budget })).ports.imap!;
    // Above STREAM_ABOVE_OCTETS, so every item is a streamed S3 read.
    big = Buffer.from(sampleMessage('big', `${randomBytes(60 * KiB).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`));
    assert.ok(big.length > STREAM_ABOVE_OCTETS);
    await w.deliver(ALICE.user, big);
    await w.deliver(BOB.user, big);
  });
  after(async () => {
    await w?.close();
  });

  /** How long another user's ordinary FETCH of one body takes, `times` times: the slowest. */
  async function bobFetches(bob: BulkClient, times: number): Promise<number> {
    let slowest = 0;
    for (let i = 0; i < times; i++) {
      const started = performance.now();
      const response = await bob.exchange(`b${i} FETCH 1 (BODY.PEEK[])`, taggedOk(`b${i}`), 20_000);
      slowest = Math.max(slowest, performance.now() - started);
      assert.ok(literals(response)[0]?.equals(big), 'Bob gets his message');
    }
    return slowest;
  }

  test('reads one item at a time; another session fetches within its usual time, even while the first stalls', async (t) => {
    const alice = await BulkClient.login(port, ALICE);
    const bob = await BulkClient.login(port, BOB);
    t.after(() => {
      alice.close();
      bob.close();
    });
    await bobFetches(bob, 2); // warm-up
    const baseline = await bobFetches(bob, 5);
    blobs.mostOpen = blobs.open;

    // Alice asks for the body 200 times and does not read: the server must not open 200 reads.
    alice.socket.pause();
    const items = Array.from({ length: 200 }, () => 'BODY.PEEK[]').join(' ');
    alice.socket.write(`a FETCH 1 (${items})\r\n`);
    // Readiness: the server has started answering Alice (a read is open and stalled on her socket).
    await eventually(() => blobs.open > 0, "Alice's FETCH to open a read", 10_000, 5);
    assert.ok(blobs.open > 0, 'Alice\'s FETCH has started');

    const during = await bobFetches(bob, 5);
    t.diagnostic(`Bob's FETCH: slowest ${baseline.toFixed(0)} ms alone, ${during.toFixed(0)} ms while Alice's 200-item FETCH stalls`);
    assert.ok(during < baseline * 4 + 1000, `Bob waited ${during.toFixed(0)} ms (alone: ${baseline.toFixed(0)} ms)`);
    assert.ok(blobs.mostOpen <= 2, `at most one read for Alice and one for Bob were open at once, saw ${blobs.mostOpen}`);

    // Alice reads now: every item arrives, byte-exact, in order; Bob meanwhile still gets through.
    alice.socket.resume();
    const [response, duringRead] = await Promise.all([alice.exchange(null, taggedOk('a'), 120_000), bobFetches(bob, 3)]);
    const bodies = literals(response);
    assert.equal(bodies.length, 200);
    assert.ok(bodies.every((b) => b.equals(big)), 'every literal is the message');
    assert.ok(duringRead < baseline * 4 + 1000, `Bob waited ${duringRead.toFixed(0)} ms while Alice read (alone: ${baseline.toFixed(0)} ms)`);
    assert.ok(blobs.mostOpen <= 1 + budget.limits.perSession, `reads open at once: ${blobs.mostOpen}`);
    assert.equal(budget.busy, 0, 'every slot released');
  });

  test('200 HEADER.FIELDS items: each read and filtered when its turn comes, one read open at a time', async (t) => {
    const alice = await BulkClient.login(port, ALICE);
    t.after(() => alice.close());
    blobs.mostOpen = blobs.open;
    const items = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'BODY.PEEK[HEADER.FIELDS (SUBJECT)]' : 'BODY.PEEK[HEADER.FIELDS (FROM)]<0.10>')).join(' ');
    const response = await alice.exchange(`h FETCH 1 (${items})`, taggedOk('h'));
    const values = literals(response).map((b) => b.toString('latin1'));
    assert.equal(values.length, 200);
    assert.deepEqual(new Set(values), new Set(['Subject: big\r\n\r\n', 'From: Caro']));
    assert.ok(blobs.mostOpen <= 1, `reads open at once: ${blobs.mostOpen}`);
  });

  test('POP3 RETR draws on the same budget: it waits while IMAP holds the process\'s slots, then proceeds', async (t) => {
    const tight = new BlobReadBudget(blobs, { perProcess: 1, perSession: 1, perSessionOctets: KiB * KiB });
    const imapPort = (await w.startServer({ blobs, blobReads: tight })).ports.imap!;
    const pop3 = await startPop3Server({
      directory: w.store.directory,
      store: w.store.mailStore,
      blobs,
      blobReads: tight,
      locks: new DynamoMaildropLocks(w.world.clients.doc, w.world.config.resources.tables),
      throttle: new LoginFailureCounter(),
      tls: createSelfSignedCertificate('localhost', ['localhost'], new Date(Date.now() - 60_000), new Date(Date.now() + 86_400_000)),
      ports: { plain: 0, tls: null },
    });
    // Larger than loopback socket buffers take, so a client that does not read really stalls the read.
    const huge = Buffer.from(sampleMessage('huge', `${randomBytes(12 * 1024 * KiB).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`));
    const uid = await w.deliver(ALICE.user, huge);
    const alice = await BulkClient.login(imapPort, ALICE);
    const pop = await RawPop3.connect(pop3.ports.plain!);
    t.after(async () => {
      alice.close();
      pop.socket.destroy();
      await pop3.close();
    });
    alice.socket.pause();
    alice.socket.write(`a UID FETCH ${uid} (BODY.PEEK[])\r\n`);
    await eventually(() => tight.busy > 0, 'IMAP to take the read slot', 10_000, 5);
    assert.equal(tight.busy, 1, 'IMAP holds the only slot');
    await pop.line();
    await pop.command(`USER ${BOB.user}`);
    assert.match(await pop.command(`PASS ${BOB.password}`), /^\+OK/);
    let answered = false;
    const retr = pop.command('RETR 1').then((line) => ((answered = true), line));
    // Readiness: the RETR has reached the budget and queues there.
    await eventually(() => tight.queued > 0, 'the RETR to queue for a read slot', 10_000, 5);
    assert.equal(tight.queued, 1, 'RETR waits for a read slot');
    assert.equal(answered, false);
    alice.socket.resume();
    assert.match(await retr, /^\+OK/);
    assert.ok((await pop.multi()).equals(big));
    assert.ok(literals(await alice.exchange(null, taggedOk('a'), 60_000))[0]?.equals(huge));
  });
});
