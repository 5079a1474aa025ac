// Unit test of the shared login throttle: exponential delay per IP and per account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottleCache } from '../../mailbox-server/auth-throttle.ts';

test('failures grow the delay per IP and per account; success clears it', () => {
  let now = 0;
  const throttle = new AuthThrottleCache({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 1000, forgetAfterMs: 10_000, now: () => now });
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
  assert.equal(throttle.delayFor('10.0.0.1', 'a@x'), 0);
  throttle.recordFailure('10.0.0.3', 'c@x');
  throttle.recordFailure('10.0.0.3', 'c@x');
  now = 20_000;
  assert.equal(throttle.delayFor('10.0.0.3', 'c@x'), 0, 'forgotten after the window');
});

test('the cache is bounded', () => {
  const throttle = new AuthThrottleCache({ freeFailures: 0, maxEntries: 4 });
  for (let i = 0; i < 10; i++) throttle.recordFailure(`10.0.0.${i}`, '');
  assert.equal(throttle.delayFor('10.0.0.0', ''), 0, 'oldest evicted');
  assert.ok(throttle.delayFor('10.0.0.9', '') > 0);
});
