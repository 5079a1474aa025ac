// The storage usage counter behind quotas: filing counts a message once (not its redelivery, not a
// writer that lost the race), expunge and mailbox deletion give it back; quotaUsage and setQuota.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { createStore, fitsInQuota, StoreError, type Store } from '../../../core/store/index.ts';
import { fileRequest } from './fixtures.ts';

let world: TestWorld;
let store: Store;

before(async () => {
  world = await startTestWorld();
  store = createStore(world.clients, world.config.resources);
  await store.directory.addDomain('quota.test');
});
after(async () => {
  await world?.close();
});

test('filing counts each message once; a redelivery and a concurrent duplicate add nothing; expunge gives it back', async () => {
  const account = 'counter@quota.test';
  await store.directory.addAccount(account, 'pw');
  assert.equal(await store.mailStore.getUsage(account), 0);
  const first = await store.mailStore.fileMessage(fileRequest(account, 'd1', { size: 1000 }));
  assert.equal(await store.mailStore.getUsage(account), 1000);
  // SQS redelivers the same record: the same delivery key files nothing new
  const again = await store.mailStore.fileMessage(fileRequest(account, 'd1', { size: 1000 }));
  assert.equal(again.duplicate, true);
  assert.equal(await store.mailStore.getUsage(account), 1000);
  // two writers of one delivery at once (two processes: separate stores, no shared filing queue)
  const other = createStore(world.clients, world.config.resources);
  const racing = await Promise.all([
    store.mailStore.fileMessage(fileRequest(account, 'd2', { size: 300 })),
    other.mailStore.fileMessage(fileRequest(account, 'd2', { size: 300 })),
  ]);
  assert.equal(racing.filter((r) => !r.duplicate).length, 1);
  assert.equal(await store.mailStore.getUsage(account), 1300);
  await store.mailStore.fileMessage(fileRequest(account, 'd3', { size: 50, mailbox: 'Archive' }));
  assert.equal(await store.mailStore.getUsage(account), 1350);

  const inbox = (await store.mailStore.getMailbox(account, 'INBOX'))!;
  assert.deepEqual(await store.mailStore.expunge(account, inbox.id, [first.uid]), [first.uid]);
  assert.equal(await store.mailStore.getUsage(account), 350);
  // expunging a tombstone again changes nothing
  assert.deepEqual(await store.mailStore.expunge(account, inbox.id, [first.uid]), []);
  assert.equal(await store.mailStore.getUsage(account), 350);
  // deleting a mailbox gives back its live messages
  await store.mailStore.deleteMailbox(account, 'Archive');
  assert.equal(await store.mailStore.getUsage(account), 300);
});

test('quotaUsage: none without a quota, usage against it with one; setQuota sets and lifts', async () => {
  const account = 'limited@quota.test';
  await store.directory.addAccount(account, 'pw');
  await store.mailStore.fileMessage(fileRequest(account, 'q1', { size: 700 }));
  assert.equal(await store.directory.quotaUsage(account), null);
  assert.equal(fitsInQuota(await store.directory.quotaUsage(account), 10 ** 12), true);

  assert.equal((await store.directory.setQuota(account, 1000)).quotaBytes, 1000);
  const usage = await store.directory.quotaUsage(account);
  assert.deepEqual(usage, { quotaBytes: 1000, usedBytes: 700 });
  assert.equal(fitsInQuota(usage, 300), true);
  assert.equal(fitsInQuota(usage, 301), false);

  assert.equal((await store.directory.setQuota(account, null)).quotaBytes, null);
  assert.equal(await store.directory.quotaUsage(account), null);
  assert.equal(await store.directory.quotaUsage('nobody@quota.test'), null);
  await assert.rejects(store.directory.setQuota('nobody@quota.test', 5), (e: unknown) => e instanceof StoreError && e.code === 'not-found');
  await assert.rejects(store.directory.setQuota(account, -1), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
});

test('removing an account drops its counter: a new account of the same name starts at zero', async () => {
  const account = 'again@quota.test';
  await store.directory.addAccount(account, 'pw');
  await store.mailStore.fileMessage(fileRequest(account, 'r1', { size: 400 }));
  await store.directory.removeAccount(account);
  await store.directory.addAccount(account, 'pw');
  assert.equal(await store.mailStore.getUsage(account), 0);
});
