// The verified-credential cache (core/verified-credentials.ts): a repeated login runs no scrypt,
// a changed password refuses the old one at once, a failure is never remembered, and the login
// throttle (core/login.ts, core/login-failures.ts) answers exactly as without the cache.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { attemptLogin } from '../../core/login.ts';
import { hashPassword, verifyPassword } from '../../core/passwords.ts';
import { createStore } from '../../core/store/index.ts';
import { VerifiedCredentialCache } from '../../core/verified-credentials.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';

/** A cache over the real scrypt check, counting how often scrypt runs. */
function countingCache(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
  const calls = { scrypt: 0 };
  const cache = new VerifiedCredentialCache({
    ...options,
    verify: (password, stored) => {
      calls.scrypt++;
      return verifyPassword(password, stored);
    },
  });
  return { cache, calls };
}

let world: TestWorld;
before(async () => {
  world = await startTestWorld();
});
after(() => world?.close());

/** A directory over the emulator with the cache in front of scrypt, and one account. */
async function directoryWith(cache: VerifiedCredentialCache, domain: string) {
  const { directory } = createStore(world.clients, world.config.resources, { verifiedCredentials: cache });
  await directory.addDomain(domain);
  await directory.addAccount(`ann@${domain}`, 'first secret');
  return directory;
}

test('a repeated LOGIN runs scrypt once; another spelling of the name shares the entry', async () => {
  const { cache, calls } = countingCache();
  const directory = await directoryWith(cache, 'repeat.test');
  const throttle = new LoginFailureCounter();
  const login = (username: string) => attemptLogin({ ip: '192.0.2.1', username, password: 'first secret' }, { throttle, directory });
  assert.equal((await login('ann@repeat.test')).kind, 'accepted');
  assert.equal(calls.scrypt, 1);
  for (let i = 0; i < 5; i++) assert.equal((await login('ann@repeat.test')).kind, 'accepted');
  assert.equal((await login('ANN@Repeat.Test')).kind, 'accepted');
  assert.equal(calls.scrypt, 1, 'no scrypt for the repeats');
});

test('a changed password refuses the old one at once and accepts the new one', async () => {
  const { cache, calls } = countingCache();
  const directory = await directoryWith(cache, 'change.test');
  assert.ok(await directory.verifyPassword('ann@change.test', 'first secret'));
  assert.ok(await directory.verifyPassword('ann@change.test', 'first secret'));
  assert.equal(calls.scrypt, 1);
  // As mailctl would: another process's directory, with no word to this one's cache.
  await createStore(world.clients, world.config.resources).directory.setPassword('ann@change.test', 'second secret');
  assert.equal(await directory.verifyPassword('ann@change.test', 'first secret'), null, 'the old password is refused');
  assert.equal(calls.scrypt, 2, 'checked against the new hash, not answered from the cache');
  assert.ok(await directory.verifyPassword('ann@change.test', 'second secret'));
  assert.ok(await directory.verifyPassword('ann@change.test', 'second secret'));
  assert.equal(calls.scrypt, 3);
  await createStore(world.clients, world.config.resources).directory.removeAccount('ann@change.test');
  assert.equal(await directory.verifyPassword('ann@change.test', 'second secret'), null, 'a removed account logs in no more');
});

test('a failed login is never remembered, and no account is never remembered', async () => {
  const { cache, calls } = countingCache();
  const directory = await directoryWith(cache, 'fail.test');
  for (let i = 0; i < 3; i++) assert.equal(await directory.verifyPassword('ann@fail.test', 'wrong'), null);
  assert.equal(calls.scrypt, 3, 'every wrong password costs scrypt');
  for (let i = 0; i < 2; i++) assert.equal(await directory.verifyPassword('ghost@fail.test', 'first secret'), null);
  assert.equal(calls.scrypt, 5, 'an unknown account costs the same scrypt every time');
  assert.equal(cache.size, 0);
});

test('the throttle is unchanged: delays and lockout come before the cache is asked', async () => {
  const { cache, calls } = countingCache();
  const directory = await directoryWith(cache, 'throttle.test');
  const throttle = new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 20, maxDelayMs: 20, lockoutFailures: 3 });
  const login = (ip: string, password: string) => attemptLogin({ ip, username: 'ann@throttle.test', password }, { throttle, directory });
  assert.equal((await login('192.0.2.7', 'first secret')).kind, 'accepted');
  assert.equal(calls.scrypt, 1);
  assert.deepEqual(await login('192.0.2.7', 'wrong'), { kind: 'rejected', delayedMs: 0 });
  assert.deepEqual(await login('192.0.2.7', 'wrong'), { kind: 'rejected', delayedMs: 0 });
  // Two failures from the IP and on the account: the next attempt waits, cached or not.
  assert.equal(throttle.verdict('192.0.2.8', 'ann@throttle.test').delayMs, 20);
  const delayed = await login('192.0.2.8', 'first secret');
  assert.equal(delayed.kind, 'accepted');
  assert.equal(calls.scrypt, 3, 'the cached password ran no scrypt, the wrong ones did');
  assert.deepEqual(await login('192.0.2.7', 'wrong'), { kind: 'rejected', delayedMs: 20 });
  assert.deepEqual(await login('192.0.2.7', 'first secret'), { kind: 'locked-out' }, 'a locked-out IP is refused even with a cached password');
});

test('entries expire after the TTL and are removed; the cache is bounded', async () => {
  let now = 0;
  const { cache, calls } = countingCache({ ttlMs: 1000, maxEntries: 2, now: () => now });
  const stored = await hashPassword('pw');
  assert.equal(await cache.verify('a@x.test', 'pw', stored), true);
  now = 999;
  assert.equal(await cache.verify('a@x.test', 'pw', stored), true);
  assert.equal(calls.scrypt, 1, 'a hit within the TTL');
  now = 1000;
  assert.equal(await cache.verify('b@x.test', 'wrong', stored), false);
  assert.equal(cache.size, 0, 'the expired entry is gone from memory, not only ignored');
  assert.equal(await cache.verify('a@x.test', 'pw', stored), true);
  assert.equal(calls.scrypt, 3, 'a hit does not extend the TTL');
  await cache.verify('b@x.test', 'pw', stored);
  await cache.verify('c@x.test', 'pw', stored);
  assert.equal(cache.size, 2);
  assert.equal(await cache.verify('a@x.test', 'pw', stored), true);
  assert.equal(calls.scrypt, 6, 'the oldest was evicted');
});
