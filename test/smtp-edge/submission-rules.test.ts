// The rules behind submission, without sockets: the login throttle (core/auth-throttle.ts) on a
// fake clock, and the sender policy and hour windows (core/sending-policy.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottleCache } from '../../core/auth-throttle.ts';
import { SmtpError } from '../../core/errors.ts';
import { checkEnvelopeSender, countAgainstHourlyLimit, hourWindow, hourWindowExpiry } from '../../core/sending-policy.ts';
import type { RecipientRoute } from '../../core/store/types.ts';

test('throttle: free failures, then a doubling delay up to the cap; forgotten after the quiet period', () => {
  let now = 0;
  const throttle = new AuthThrottleCache({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 350, lockoutFailures: 100, forgetAfterMs: 1000, now: () => now });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    delays.push(throttle.delayFor('192.0.2.1', 'bob@example.test'));
    throttle.recordFailure('192.0.2.1', 'bob@example.test');
  }
  assert.deepEqual(delays, [0, 0, 0, 100, 200, 350]);
  now += 1001;
  assert.equal(throttle.delayFor('192.0.2.1', 'bob@example.test'), 0);
});

test('throttle: only an IP is locked out; an account is slowed from everywhere, and its success clears it', () => {
  const throttle = new AuthThrottleCache({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 1000, lockoutFailures: 3 });
  for (let i = 0; i < 3; i++) throttle.recordFailure('192.0.2.1', 'Bob@Example.test');
  assert.deepEqual(throttle.verdict('192.0.2.1', 'alice@example.test'), { refuse: true, delayMs: 0 });
  // the account (case-insensitive) is slowed from another IP, never refused
  assert.deepEqual(throttle.verdict('198.51.100.7', 'bob@example.test'), { refuse: false, delayMs: 200 });
  throttle.recordSuccess('198.51.100.7', 'bob@example.test');
  assert.deepEqual(throttle.verdict('198.51.100.7', 'bob@example.test'), { refuse: false, delayMs: 0 });
  // a success does not clear the IP: a guesser cannot reset itself with its own account
  assert.equal(throttle.verdict('192.0.2.1', 'bob@example.test').refuse, true);
});

test('throttle: the number of tracked keys is bounded (oldest failures evicted)', () => {
  const throttle = new AuthThrottleCache({ freeFailures: 0, baseDelayMs: 10, maxEntries: 4 });
  throttle.recordFailure('192.0.2.1', '');
  for (let i = 0; i < 4; i++) throttle.recordFailure(`198.51.100.${i}`, '');
  assert.equal(throttle.delayFor('192.0.2.1', ''), 0, 'evicted');
  assert.equal(throttle.delayFor('198.51.100.3', ''), 10);
});

const routes: Record<string, RecipientRoute> = {
  'sales@example.test': { kind: 'local', accounts: ['demo@example.test'] },
  'team@example.test': { kind: 'local', accounts: ['bob@example.test', 'demo@example.test'] },
  'bob@example.test': { kind: 'local', accounts: ['bob@example.test'] },
  'x@remote.test': { kind: 'remote', domain: 'remote.test' },
  'gone@example.test': { kind: 'unknown-local' },
};
const sender = (from: string) => checkEnvelopeSender('demo@example.test', from, async () => routes[from.toLowerCase()]!).then(
  () => 'ok',
  (err: unknown) => (err instanceof SmtpError ? `${err.code} ${err.enhanced}` : 'other'),
);

test('sender policy (RFC 6409 §6.1): own address and addresses that reach the account; nothing else', async () => {
  assert.equal(await sender('demo@example.test'), 'ok');
  assert.equal(await sender('Demo@EXAMPLE.test'), 'ok');
  assert.equal(await sender('sales@example.test'), 'ok');
  assert.equal(await sender('team@example.test'), 'ok');
  assert.equal(await sender('bob@example.test'), '553 5.7.1');
  assert.equal(await sender('x@remote.test'), '553 5.7.1');
  assert.equal(await sender('gone@example.test'), '553 5.7.1');
  assert.equal(await sender(''), '553 5.7.1');
});

test('hour windows are UTC clock hours; counters expire a day after their hour; over the limit is 451 4.7.1', async () => {
  assert.equal(hourWindow(new Date('2026-11-23T01:59:59.999Z')), '2026-11-23T01');
  assert.equal(hourWindowExpiry('2026-11-23T01'), Date.parse('2026-11-24T02:00:00Z') / 1000);
  const counts = new Map<string, number>();
  const counter = {
    async countSubmission(account: string, window: string) {
      const key = `${account} ${window}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts.get(key)!;
    },
  };
  const limits = { maxMessagesPerHour: 2, maxRecipientsPerMessage: 10 };
  const at = new Date('2026-11-23T01:00:00Z');
  assert.equal(await countAgainstHourlyLimit(counter, 'demo@example.test', limits, at), 1);
  assert.equal(await countAgainstHourlyLimit(counter, 'demo@example.test', limits, at), 2);
  await assert.rejects(countAgainstHourlyLimit(counter, 'demo@example.test', limits, at), (err: SmtpError) => err.code === 451 && err.enhanced === '4.7.1');
  assert.equal(await countAgainstHourlyLimit(counter, 'demo@example.test', limits, new Date('2026-11-23T02:00:00Z')), 1, 'a new hour starts afresh');
});
