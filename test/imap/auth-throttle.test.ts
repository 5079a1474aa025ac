// The login throttle IMAP and POP3 share (core/auth-throttle.ts, also the SMTP edge's): exponential
// delay per IP and per account, IP lockout, and IMAP LOGIN honouring both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottleCache } from '../../core/auth-throttle.ts';
import { ALICE, RawImap, startImapWorld } from './helpers/imap-world.ts';

test('failures grow the delay per IP and per account; success clears the account, not the IP', () => {
  let now = 0;
  const throttle = new AuthThrottleCache({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 1000, lockoutFailures: 100, forgetAfterMs: 10_000, now: () => now });
  assert.equal(throttle.delayFor('10.0.0.1', 'a@x'), 0);
  throttle.recordFailure('10.0.0.1', 'a@x');
  assert.equal(throttle.delayFor('10.0.0.1', 'a@x'), 0);
  throttle.recordFailure('10.0.0.1', 'a@x');
  assert.equal(throttle.delayFor('10.0.0.1', 'b@x'), 100, 'same IP, other account');
  assert.equal(throttle.delayFor('10.0.0.2', 'A@X'), 100, 'other IP, same account (case-insensitive)');
  throttle.recordFailure('10.0.0.1', 'a@x');
  assert.equal(throttle.delayFor('10.0.0.9', 'a@x'), 200);
  for (let i = 0; i < 10; i++) throttle.recordFailure('10.0.0.1', 'a@x');
  assert.equal(throttle.delayFor('10.0.0.9', 'a@x'), 1000, 'capped');
  throttle.recordSuccess('10.0.0.1', 'a@x');
  assert.equal(throttle.delayFor('10.0.0.9', 'a@x'), 0, 'the account is cleared');
  assert.equal(throttle.delayFor('10.0.0.1', 'b@x'), 1000, 'the IP is not: one valid account must not reset a guesser');
  throttle.recordFailure('10.0.0.3', 'c@x');
  throttle.recordFailure('10.0.0.3', 'c@x');
  now = 20_000;
  assert.equal(throttle.delayFor('10.0.0.3', 'c@x'), 0, 'forgotten after the window');
});

test('an IP that keeps failing is locked out; an account under attack is only slowed down', () => {
  const throttle = new AuthThrottleCache({ freeFailures: 0, baseDelayMs: 1, maxDelayMs: 1, lockoutFailures: 3 });
  for (let i = 0; i < 3; i++) throttle.recordFailure('10.0.0.1', 'a@x');
  assert.deepEqual(throttle.verdict('10.0.0.1', 'b@x'), { refuse: true, delayMs: 0 });
  assert.equal(throttle.verdict('10.0.0.2', 'a@x').refuse, false);
});

test('the cache is bounded', () => {
  const throttle = new AuthThrottleCache({ freeFailures: 0, maxEntries: 4 });
  for (let i = 0; i < 10; i++) throttle.recordFailure(`10.0.0.${i}`, '');
  assert.equal(throttle.delayFor('10.0.0.0', ''), 0, 'oldest evicted');
  assert.ok(throttle.delayFor('10.0.0.9', '') > 0);
});

test('IMAP LOGIN: the delay comes before the check, and a locked-out IP is refused even the right password', async (t) => {
  const w = await startImapWorld({ throttle: new AuthThrottleCache({ freeFailures: 1, baseDelayMs: 300, maxDelayMs: 300, lockoutFailures: 3 }) });
  t.after(() => w.close());
  const c = await RawImap.connect(w.port);
  t.after(() => c.close());
  await c.line();
  for (const attempt of [1, 2]) {
    const answer = await c.command(`LOGIN ${ALICE.user} wrong`);
    assert.match(answer.at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, `attempt ${attempt}`);
  }
  const started = Date.now();
  assert.match((await c.command(`LOGIN ${ALICE.user} wrong`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/);
  assert.ok(Date.now() - started >= 250, `third attempt waited ${Date.now() - started} ms`);
  // Three failures from 127.0.0.1: locked out, and the answer is the one a wrong password gets.
  assert.match((await c.command(`LOGIN ${ALICE.user} ${ALICE.password}`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\] Authentication failed/);
});
