import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, needsRehash, verifyPassword } from '../../../core/passwords.ts';

test('scrypt hash: format carries parameters and a random salt', async () => {
  const a = await hashPassword('hunter2');
  const b = await hashPassword('hunter2');
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b);
  assert.ok(!a.includes('hunter2'));
  assert.equal(needsRehash(a), false);
  assert.equal(needsRehash(a.replace('$32768$', '$16384$')), true);
});

test('verify: right, wrong, unknown account, corrupt hash, Unicode normalisation', async () => {
  const stored = await hashPassword('Pässword');
  assert.equal(await verifyPassword('Pässword', stored), true);
  assert.equal(await verifyPassword('Pa\u0308ssword', stored), true); // NFD input, same password
  assert.equal(await verifyPassword('pässword', stored), false);
  assert.equal(await verifyPassword('', stored), false);
  assert.equal(await verifyPassword('Pässword', null), false);
  assert.equal(await verifyPassword('Pässword', 'scrypt$1048577$8$1$AAAA$AAAA'), false);
  assert.equal(await verifyPassword('Pässword', 'plain'), false);
});

test('verify: an unknown account costs about as much as a known one', async () => {
  const stored = await hashPassword('secret');
  const time = async (hash: string | null) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 3; i++) await verifyPassword('guess', hash);
    return Number(process.hrtime.bigint() - start);
  };
  await time(null); // warm up
  const known = await time(stored);
  const unknown = await time(null);
  // Both do the same scrypt work; a shortcut for unknown accounts would be ~1000x faster.
  assert.ok(unknown > known / 3, `unknown ${unknown}ns vs known ${known}ns`);
});
