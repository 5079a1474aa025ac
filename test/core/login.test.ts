// The login sequence IMAP, POP3 and the SMTP edge share (core/login.ts) and its failure counter
// (core/login-failures.ts): exponential delay per IP and per account, IP lockout, an attempt counted
// before it is checked and by canonical account. IMAP LOGIN honouring it: test/mailbox-server/imap/login.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { loginAccountKey } from '../../core/addresses.ts';
import { attemptLogin } from '../../core/login.ts';
import type { Account } from '../../core/store/types.ts';

test('failures grow the delay per IP and per account; success clears the account, not the IP', () => {
  let now = 0;
  const throttle = new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 1000, lockoutFailures: 100, forgetAfterMs: 10_000, now: () => now });
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
  const throttle = new LoginFailureCounter({ freeFailures: 0, baseDelayMs: 1, maxDelayMs: 1, lockoutFailures: 3 });
  for (let i = 0; i < 3; i++) throttle.recordFailure('10.0.0.1', 'a@x');
  assert.deepEqual(throttle.verdict('10.0.0.1', 'b@x'), { refuse: true, delayMs: 0 });
  assert.equal(throttle.verdict('10.0.0.2', 'a@x').refuse, false);
});

test('the cache is bounded', () => {
  const throttle = new LoginFailureCounter({ freeFailures: 0, maxEntries: 4 });
  for (let i = 0; i < 10; i++) throttle.recordFailure(`10.0.0.${i}`, '');
  assert.equal(throttle.delayFor('10.0.0.0', ''), 0, 'oldest evicted');
  assert.ok(throttle.delayFor('10.0.0.9', '') > 0);
});

test('login names: plain addresses map to the account key; anything the URL parser would bend is refused', () => {
  assert.equal(loginAccountKey('Alice@Example.TEST'), 'alice@example.test');
  assert.equal(loginAccountKey("o'brien+tag@mail.example.test"), "o'brien+tag@mail.example.test");
  assert.equal(loginAccountKey('jörg@bücher.test'), 'jörg@xn--bcher-kva.test');
  for (const name of ['alice@example.test/anything', 'alice@ex%61mple.test', 'alice@example.test:9#x', 'alice@example.test.', 'alice@example..test',
    'alice@-example.test', 'al%ice@example.test', 'a/b@example.test', '.alice@example.test', 'alice@', '@example.test', 'alice', 'alice@[127.0.0.1]', 'alice@exa mple.test']) {
    assert.equal(loginAccountKey(name), null, name);
  }
});

test('attemptLogin: an IP has no more attempts in flight than failures left; the rest wait and then meet the lockout', async () => {
  const alice = { address: 'alice@x.test', domain: 'x.test', createdAt: '', quotaBytes: null, sendAsDomains: [] } satisfies Account;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const directory = { verifyPassword: async (name: string, password: string) => (await gate, name === alice.address && password === 'right' ? alice : null) };
  const throttle = new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 2 });
  const login = (ip: string, password: string, username = 'alice@x.test') => attemptLogin({ ip, username, password }, { throttle, directory });
  // Two wrong guesses are in flight from 10.0.0.1: the right password behind them has to wait.
  const guesses = [login('10.0.0.1', 'a'), login('10.0.0.1', 'b'), login('10.0.0.1', 'right')];
  const elsewhere = login('10.0.0.2', 'right');
  release();
  assert.deepEqual((await Promise.all(guesses)).map((v) => v.kind), ['rejected', 'rejected', 'locked-out']);
  assert.equal((await elsewhere).kind, 'accepted', 'another IP is not held up');

  // Right passwords at once from one address (a client's connections, a NAT): queued, never refused.
  const burst = new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 2 });
  const right = await Promise.all(Array.from({ length: 5 }, () => attemptLogin({ ip: '10.0.0.3', username: 'ALICE@x.test', password: 'right' }, { throttle: burst, directory })));
  assert.deepEqual(right.map((v) => v.kind), Array(5).fill('accepted'));

  const counting = new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 1 });
  const failing = { verifyPassword: async () => { throw new Error('DynamoDB down'); } };
  assert.equal((await attemptLogin({ ip: '10.0.0.4', username: 'alice@x.test', password: 'right' }, { throttle: counting, directory: failing })).kind, 'unavailable');
  assert.equal(counting.verdict('10.0.0.4', 'bob@x.test').refuse, false, 'an unjudged attempt is not a failure');
  assert.equal((await attemptLogin({ ip: '10.0.0.4', username: 'alice@x.test', password: 'right', authorizationId: 'bob@x.test' }, { throttle: counting, directory })).kind, 'rejected', 'another authzid');
  assert.equal((await attemptLogin({ ip: '10.0.0.4', username: 'alice@x.test', password: 'right' }, { throttle: counting, directory })).kind, 'locked-out');
});
