// The prefetch of new messages (mailbox-server/prefetch.ts, docs/decisions/0011-read-path.md): a
// sync of an open mailbox that finds new small messages reads their items and bodies into the
// task's caches, so the FETCH of the session told of them makes no S3 request; large messages and
// those past the bound per sync are left alone, and a failed prefetch changes nothing for the client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BlobReadBudget, type BlobReads } from '../../../core/blob-read-budget.ts';
import { rawBlobKey } from '../../../core/blobs.ts';
import { BodyCache } from '../../../core/body-cache.ts';
import { headerPrefix } from '../../../core/header-prefix.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { SharedMailboxHeads } from '../../../mailbox-server/mailbox-heads.ts';
import { MailboxStates } from '../../../mailbox-server/mailbox-states.ts';
import { NewMessagePrefetch, type PrefetchLimits } from '../../../mailbox-server/prefetch.ts';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

let w: ImapWorld;
before(async () => {
  w = await startImapWorld();
});
after(() => w?.close());

const count = (operation: string) => w.world.counter.counts.get(operation) ?? 0;
const counted = () => JSON.stringify(Object.fromEntries(w.world.counter.counts));

/**
 * A task as mailbox-server/main.ts composes one: the body cache, the read budget, the prefetch as
 * the shared states' listener. The heads' window is short: the deliveries come from another writer.
 */
async function task(limits: Partial<PrefetchLimits> = {}, blobs: BlobReads = w.blobs) {
  const bodyCache = new BodyCache();
  const blobReads = new BlobReadBudget(blobs);
  const prefetch = new NewMessagePrefetch(bodyCache, blobReads, limits);
  const states = new MailboxStates({}, {}, prefetch.newMessages);
  const server = await w.startServer({
    store: states.wrap(new SharedMailboxHeads({ freshMs: 50 }).wrap(w.store.mailStore)),
    mailboxStates: states,
    bodyCache,
    blobReads,
  });
  return { port: server.ports.imap!, prefetch, bodyCache };
}

async function selected(port: number, mailbox: string): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.line();
  await c.login(ALICE.user, ALICE.password);
  const lines = await c.command(`SELECT ${mailbox}`);
  assert.match(lines.at(-1)!, /OK \[READ-WRITE\]/, lines.join(' | '));
  return c;
}

/** IDLE until the server announces a new message (RFC 2177), then DONE. */
async function idleUntilExists(c: RawImap, deliver: () => Promise<number>): Promise<number> {
  c.write('i IDLE\r\n');
  assert.equal(await c.line(), '+ idling');
  const uid = await deliver();
  for (let line = await c.line(20_000); !/^\* \d+ EXISTS$/.test(line ?? ''); line = await c.line(20_000)) {
    assert.ok(line !== null, 'connection closed in IDLE');
  }
  c.write('DONE\r\n');
  for (let line = await c.line(); line !== 'i OK IDLE terminated'; line = await c.line()) assert.ok(line !== null, 'connection closed in IDLE');
  return uid;
}

/** Until some sync of the session's mailbox has found every message delivered so far. */
async function noopUntilExists(c: RawImap, exists: number): Promise<void> {
  for (;;) {
    const lines = await c.command('NOOP');
    if (lines.includes(`* ${exists} EXISTS`)) return;
    assert.ok(!lines.some((l) => / EXISTS$/.test(l)), `a sync found only part of the burst: ${lines.join(' | ')}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

test('a session in IDLE is told of a message another writer filed; its UID FETCH BODY.PEEK[] then makes no S3 request and reads no item', async () => {
  const fetchAfterIdle = async (limits: Partial<PrefetchLimits>) => {
    const { port, prefetch } = await task(limits);
    const c = await selected(port, 'INBOX');
    try {
      const subject = `prefetched ${randomUUID()}`;
      const uid = await idleUntilExists(c, () => w.deliver(ALICE.user, sampleMessage(subject, 'y'.repeat(10_000))));
      await prefetch.settled();
      w.world.counter.counts.clear();
      const lines = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
      assert.match(lines.at(-1)!, /OK/);
      assert.ok(lines.some((l) => l.includes(`Subject: ${subject}`) && l.includes('y'.repeat(10_000))), 'the whole message');
      return { gets: count('S3.GetObject'), itemReads: count('DynamoDB.BatchGetItem'), counts: prefetch.counts };
    } finally {
      c.close();
      prefetch.close();
    }
  };
  // Prefetch off (0 a sync): the FETCH reads the body itself, as before prefetch.
  const off = await fetchAfterIdle({ perSync: 0 });
  assert.equal(off.gets, 1, counted());
  const on = await fetchAfterIdle({});
  assert.equal(on.gets, 0, `the body comes from the task's cache: ${counted()}`);
  assert.equal(on.itemReads, 0, `the item's parts come from the task: ${counted()}`);
  assert.deepEqual(on.counts, { read: 1, skipped: 0, failed: 0 });
});

test('a junk copy\'s header prefix is served in front of the prefetched blob: the FETCH still makes no S3 request', async () => {
  const { port, prefetch } = await task();
  const c = await selected(port, 'Junk');
  try {
    const raw = Buffer.from(sampleMessage('junk copy', 'z'.repeat(5_000)));
    const key = rawBlobKey(randomUUID(), new Date());
    await w.blobs.put(key, raw);
    const prefix = headerPrefix([['X-Spam-Flag', 'YES']]);
    const { uid } = await w.store.mailStore.fileMessage({
      account: ALICE.user, mailbox: 'Junk', deliveryKey: randomUUID(), blobKey: key, size: raw.length + prefix.length,
      internalDate: new Date().toISOString(), flags: [], index: indexMessage(raw), headerPrefix: prefix,
    });
    await noopUntilExists(c, 1);
    await prefetch.settled();
    w.world.counter.counts.clear();
    const lines = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    assert.match(lines.at(-1)!, /OK/);
    const literal = `{${raw.length + prefix.length}}\r\n${prefix}From: `;
    assert.ok(lines.some((l) => l.includes(literal)), `prefix + blob: ${lines.join(' | ').slice(0, 300)}`);
    assert.equal(count('S3.GetObject'), 0, counted());
  } finally {
    c.close();
    prefetch.close();
  }
});

test('a message larger than the body cache\'s entries is not prefetched', async () => {
  const { port, prefetch, bodyCache } = await task();
  const c = await selected(port, 'INBOX');
  try {
    assert.ok(bodyCache.limits.maxEntryBytes < 100_000);
    w.world.counter.counts.clear();
    const uid = await idleUntilExists(c, () => w.deliver(ALICE.user, sampleMessage('large', 'L'.repeat(100_000))));
    await prefetch.settled();
    assert.equal(count('S3.GetObject'), 0, counted());
    assert.deepEqual(prefetch.counts, { read: 0, skipped: 1, failed: 0 });
    assert.equal(bodyCache.size, 0);
    const lines = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    assert.match(lines.at(-1)!, /OK/);
    assert.equal(count('S3.GetObject'), 1, 'the FETCH streams it as before');
  } finally {
    c.close();
    prefetch.close();
  }
});

test('a burst above the bound per sync prefetches at most that many', async () => {
  const { port, prefetch } = await task({ perSync: 3 });
  await w.store.mailStore.createMailbox(ALICE.user, 'Burst');
  await w.deliver(ALICE.user, sampleMessage('opens Burst'), { mailbox: 'Burst' });
  const c = await selected(port, 'Burst');
  try {
    for (let i = 0; i < 5; i++) await w.deliver(ALICE.user, sampleMessage(`burst ${i}`), { mailbox: 'Burst' });
    w.world.counter.counts.clear();
    await noopUntilExists(c, 6);
    await prefetch.settled();
    assert.deepEqual(prefetch.counts, { read: 3, skipped: 2, failed: 0 });
    assert.equal(count('S3.GetObject'), 3, counted());
    const lines = await c.command('FETCH 2:6 BODY.PEEK[]');
    assert.equal(lines.filter((l) => /^\* \d FETCH/.test(l)).length, 5);
    assert.equal(count('S3.GetObject'), 5, `the FETCH read only the two left out: ${counted()}`);
  } finally {
    c.close();
    prefetch.close();
  }
});

test('a prefetch that fails (an S3 error) is ignored: the session goes on and its FETCH reads the message', async () => {
  let failures = 0;
  // The bucket as the task reads it, failing the next read as S3 does under SlowDown.
  const flaky: BlobReads = {
    getRange: async (key, start, end) => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      }
      return w.blobs.getRange(key, start, end);
    },
    getStream: (key, range) => w.blobs.getStream(key, range),
  };
  const { port, prefetch } = await task({}, flaky);
  const c = await selected(port, 'INBOX');
  try {
    failures = 1;
    const uid = await idleUntilExists(c, () => w.deliver(ALICE.user, sampleMessage('flaky', 'f'.repeat(2_000))));
    await prefetch.settled();
    assert.deepEqual(prefetch.counts, { read: 0, skipped: 0, failed: 1 });
    assert.equal(failures, 0, 'the prefetch made the failing read');
    w.world.counter.counts.clear();
    const lines = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    assert.match(lines.at(-1)!, /OK/);
    assert.ok(lines.some((l) => l.includes('Subject: flaky')));
    assert.equal(count('S3.GetObject'), 1, 'read by the FETCH itself');
    assert.match((await c.command('NOOP')).at(-1)!, /OK/);
  } finally {
    c.close();
    prefetch.close();
  }
});

test('after the prefetch, the header fields a client lists new mail by, and the text, are read from the prefetched message', async () => {
  const { port, prefetch } = await task();
  const c = await selected(port, 'Sent');
  try {
    const uid = await idleUntilExists(c, () => w.deliver(ALICE.user, sampleMessage('listed', 't'.repeat(3_000)), { mailbox: 'Sent' }));
    await prefetch.settled();
    w.world.counter.counts.clear();
    const header = await c.command(`UID FETCH ${uid} (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From Subject Date)])`);
    assert.ok(header.some((l) => l.includes('Subject: listed')), header.join(' | '));
    const text = await c.command(`UID FETCH ${uid} BODY.PEEK[TEXT]`);
    assert.ok(text.some((l) => l.includes('t'.repeat(3_000))));
    assert.equal(count('S3.GetObject'), 0, counted());
  } finally {
    c.close();
    prefetch.close();
  }
});
