// The guards IMAP and POP3 connections share (mailbox-server/line-protocol/guards.ts), on a mocked
// clock so the deadlines are checked exactly; the protocol tests check how each renders them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadCommandLimit, ConnectionClocks, isHttpRequestLine, isLoopback } from '../../../mailbox-server/line-protocol/guards.ts';

test('bad commands: max are answered, the one after closes', () => {
  const limit = new BadCommandLimit(3);
  assert.deepEqual([limit.exceeded(), limit.exceeded(), limit.exceeded(), limit.exceeded()], [false, false, false, true]);
});

test('HTTP request lines are recognised, mail commands and look-alikes are not', () => {
  for (const line of ['GET / HTTP/1.1', 'post /login HTTP/1.0', 'CONNECT mail.example:993 HTTP/1.1', 'HEAD /x HTTP/2']) {
    assert.ok(isHttpRequestLine(line), line);
  }
  for (const line of ['a1 LOGIN user pass', 'GET', 'GET /', 'a GET / HTTP/1.1', 'USER GET', 'GET / HTTPS/1.1', 'x'.repeat(10_000)]) {
    assert.ok(!isHttpRequestLine(line), line);
  }
});

test('loopback addresses, IPv4, IPv6 and mapped', () => {
  assert.deepEqual(['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '::ffff:10.0.0.1', '::2'].map(isLoopback), [true, true, true, true, false, false, false]);
});

test('the login deadline counts from connect and is not extended by activity', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const clocks = new ConnectionClocks({ loginDeadlineMs: 1000, idleTimeoutMs: 300 }, (reason) => fired.push(reason));
  t.mock.timers.tick(600);
  clocks.activity();
  t.mock.timers.tick(399);
  assert.deepEqual(fired, []);
  t.mock.timers.tick(1);
  assert.deepEqual(fired, ['login-deadline']);
  t.mock.timers.tick(10_000);
  assert.deepEqual(fired, ['login-deadline'], 'fires once');
});

test('after login, inactivity is counted from the last activity, and not while paused', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const clocks = new ConnectionClocks({ loginDeadlineMs: 1000, idleTimeoutMs: 300 }, (reason) => fired.push(reason));
  t.mock.timers.tick(500);
  clocks.loggedIn();
  t.mock.timers.tick(250);
  clocks.activity();
  t.mock.timers.tick(250);
  assert.deepEqual(fired, [], 'the login deadline is over');
  clocks.pause();
  t.mock.timers.tick(5_000);
  assert.deepEqual(fired, [], 'a running command is not inactivity');
  clocks.activity();
  t.mock.timers.tick(299);
  assert.deepEqual(fired, []);
  t.mock.timers.tick(1);
  assert.deepEqual(fired, ['idle']);
});

test('stopped clocks never fire', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fired: string[] = [];
  const clocks = new ConnectionClocks({ loginDeadlineMs: 100, idleTimeoutMs: 100 }, (reason) => fired.push(reason));
  clocks.stop();
  clocks.activity();
  t.mock.timers.tick(1_000);
  assert.deepEqual(fired, []);
});
