// The maildrop lock (core/store/maildrop-lock.ts) on the emulators: exclusive, released only by
// its holder, renewable, and taken over once a crashed holder's lease has run out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoMaildropLocks } from '../../../core/store/maildrop-lock.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

test('one holder at a time; release frees it; a stale release frees nothing', async () => {
  const locks = new DynamoMaildropLocks(world.clients.doc, world.config.resources.tables);
  const first = await locks.acquire('Alice@Example.org');
  assert.ok(first);
  assert.equal(await locks.acquire('alice@example.org'), null, 'same account in key form');
  assert.ok(await locks.acquire('bob@example.org'), 'other accounts are independent');
  await first.release();
  const second = await locks.acquire('alice@example.org');
  assert.ok(second);
  await first.release();
  assert.equal(await locks.acquire('alice@example.org'), null, "the first holder's late release left the second's lock alone");
  assert.equal(await first.renew(), false);
  assert.equal(await second.renew(), true);
  await second.release();
});

test("a crashed holder's lease expires; renewal keeps a live one", async () => {
  let now = 1_000_000;
  const locks = new DynamoMaildropLocks(world.clients.doc, world.config.resources.tables, { leaseMs: 60_000, now: () => now });
  const crashed = await locks.acquire('carol@example.org');
  assert.ok(crashed);
  now += 59_000;
  assert.equal(await locks.acquire('carol@example.org'), null, 'still within the lease');
  assert.equal(await crashed.renew(), true);
  now += 59_000;
  assert.equal(await locks.acquire('carol@example.org'), null, 'renewed');
  now += 61_000;
  const taker = await locks.acquire('carol@example.org');
  assert.ok(taker, 'no renewal for a whole lease: taken over');
  assert.equal(await crashed.renew(), false, 'the old holder learns it lost the lock');
  await taker.release();
});
