// The login throttle IMAP and POP3 share (core/login-failures.ts, also the SMTP edge's): exponential
// delay per IP and per account, IP lockout, the login sequence (core/login.ts) that counts an attempt
// before checking it and by canonical account, and IMAP LOGIN honouring all of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailureCounter } from '../../../core/login-failures.ts';
import { loginAccountKey } from '../../../core/addresses.ts';
import { attemptLogin } from '../../../core/login.ts';
import type { Account } from '../../../core/store/types.ts';
import { ALICE, RawImap, startImapWorld } from './helpers/imap-world.ts';

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

test('IMAP LOGIN: the delay comes before the check, and a locked-out IP is refused even the right password', async (t) => {
  const w = await startImapWorld({ throttle: new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 300, maxDelayMs: 300, lockoutFailures: 3 }) });
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

/** Loopback addresses standing for three client hosts. */
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** A throttle whose delays are short enough for a test and whose lockout starts at 10 failures. */
const burstThrottle = () => new LoginFailureCounter({ freeFailures: 2, baseDelayMs: 10, maxDelayMs: 40, lockoutFailures: 10 });

test('IMAP LOGIN: 50 parallel wrong logins, then the right one: every attempt is counted before its check, so the IP is locked', async (t) => {
  const w = await startImapWorld({ throttle: burstThrottle() });
  t.after(() => w.close());
  // Three client hosts, 17 connections each (under any per-address connection cap); each host
  // is locked out after 10 failures, and the right password goes last, from the third.
  const clients = await Promise.all(Array.from({ length: 51 }, (_, i) => RawImap.connect(w.port, false, HOSTS[i % 3])));
  t.after(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map((c) => c.line()));
  // All 51 LOGINs are on the wire before any answer: the right password is the last one sent.
  // Thirty password checks at once on a loaded machine can take a while: a generous wait.
  const answers = await Promise.all(clients.map((c, i) => {
    c.write(`a${i} LOGIN ${ALICE.user} ${i === 50 ? ALICE.password : `wrong-${i}`}\r\n`);
    return c.until(`a${i}`, 60_000);
  }));
  for (const answer of answers) assert.match(answer.at(-1)!, /NO \[AUTHENTICATIONFAILED\] Authentication failed/);
  const after = await RawImap.connect(w.port, false, HOSTS[2]);
  t.after(() => after.close());
  await after.line();
  assert.match((await after.command(`LOGIN ${ALICE.user} ${ALICE.password}`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, 'still locked afterwards');
});

test('IMAP LOGIN: names that are not plain addresses are refused, though the URL parser would make them alice', async (t) => {
  const w = await startImapWorld({ throttle: new LoginFailureCounter({ freeFailures: 100, lockoutFailures: 100 }) });
  t.after(() => w.close());
  const c = await RawImap.connect(w.port);
  t.after(() => c.close());
  await c.line();
  for (const name of ['alice@example.test/anything', 'alice@ex%61mple.test', 'alice@example.test:9#x', 'alice@example.test.', 'alice@example.test?x', 'alice@[example.test]']) {
    assert.match((await c.command(`LOGIN "${name}" "${ALICE.password}"`)).at(-1)!, /NO \[AUTHENTICATIONFAILED\]/, name);
  }
  // The canonical spellings of the same account still work (case, as before).
  assert.match((await c.command(`LOGIN "Alice@Example.TEST" "${ALICE.password}"`)).at(-1)!, /OK /);
});
