// The mailbox head shared by a task's sessions (mailbox-server/mailbox-heads.ts): one GetItem
// serves every sync within the freshness window, a write through the task's store is seen at
// once, a read that raced a write is not reused after it, and a command's two syncs share a read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SharedMailboxHeads } from '../../../mailbox-server/mailbox-heads.ts';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

let w: ImapWorld;
before(async () => {
  w = await startImapWorld();
});
after(() => w?.close());

const getItems = () => w.world.counter.counts.get('DynamoDB.GetItem') ?? 0;

test('reads within the window share one GetItem; concurrent reads join the one in flight', async () => {
  let now = 0;
  const heads = new SharedMailboxHeads({ freshMs: 50 }, () => now);
  const store = heads.wrap(w.store.mailStore);
  const inbox = (await store.getMailbox(ALICE.user, 'INBOX'))!;
  w.world.counter.counts.clear();
  const [a, b] = await Promise.all([store.getMailboxById(ALICE.user, inbox.id), store.getMailboxById(ALICE.user, inbox.id)]);
  now = 50;
  const c = await store.getMailboxById(ALICE.user, inbox.id);
  assert.equal(getItems(), 1);
  assert.deepEqual([a?.id, b?.id, c?.id], [inbox.id, inbox.id, inbox.id]);
  now = 51;
  await store.getMailboxById(ALICE.user, inbox.id);
  assert.equal(getItems(), 2, 'read again once the window has passed');
});

test('a change made elsewhere shows once the window has passed; one made through the task at once', async () => {
  let now = 0;
  const heads = new SharedMailboxHeads({ freshMs: 1000 }, () => now);
  const store = heads.wrap(w.store.mailStore);
  const inbox = (await store.getMailbox(ALICE.user, 'INBOX'))!;
  const before = (await store.getMailboxById(ALICE.user, inbox.id))!;
  await w.deliver(ALICE.user, sampleMessage('from another task'));
  assert.equal((await store.getMailboxById(ALICE.user, inbox.id))!.uidNext, before.uidNext, 'within the window: the head as read');
  now = 1001;
  const later = (await store.getMailboxById(ALICE.user, inbox.id))!;
  assert.equal(later.uidNext, before.uidNext + 1);
  await store.setFlags(ALICE.user, inbox.id, [later.uidNext - 1], { op: 'add', flags: ['\\Flagged'] });
  const afterWrite = (await store.getMailboxById(ALICE.user, inbox.id))!;
  assert.ok(afterWrite.highestModSeq > later.highestModSeq, 'our own write is seen in the next read, window or not');
});

test('a read in flight when a write starts is not reused after the write', async () => {
  const heads = new SharedMailboxHeads({ freshMs: 60_000 });
  const store = heads.wrap(w.store.mailStore);
  const inbox = (await store.getMailbox(ALICE.user, 'INBOX'))!;
  const racing = store.getMailboxById(ALICE.user, inbox.id);
  const uid = (await store.getMailboxById(ALICE.user, inbox.id))!.uidNext - 1;
  const flagged = await store.setFlags(ALICE.user, inbox.id, [uid], { op: 'remove', flags: ['\\Flagged'] });
  await racing;
  const seen = (await store.getMailboxById(ALICE.user, inbox.id))!;
  assert.equal(seen.highestModSeq, flagged.updated[0]!.modSeq);
});

test('IMAP: a UID FETCH right after another reads no mailbox head; without the shared head, two (the syncs before and after)', async () => {
  const uid = await w.deliver(ALICE.user, sampleMessage('fetched'));
  // A window no run of this test can outlast between the two syncs of one command.
  const server = await w.startServer({ store: new SharedMailboxHeads({ freshMs: 60_000 }).wrap(w.store.mailStore) });
  const plain = await w.startServer();
  const headReads = async (port: number) => {
    const c = await RawImap.connect(port);
    try {
      await c.line();
      await c.login(ALICE.user, ALICE.password);
      await c.command('SELECT INBOX');
      await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
      w.world.counter.counts.clear();
      await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
      return getItems();
    } finally {
      c.close();
    }
  };
  assert.equal(await headReads(plain.ports.imap!), 2, 'without the shared head: the sync before and the sync after');
  assert.equal(await headReads(server.ports.imap!), 0, 'with it, within the window: none');
});
