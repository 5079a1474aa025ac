// The rules behind submission, without sockets: the login throttle (core/login-failures.ts) on a
// fake clock, and the sender policy (smtp-edge/sending-policy.ts) and hour windows (core/sending-limits.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { SmtpError } from '../../core/smtp-reply.ts';
import { checkEnvelopeSender, checkOriginatorFields, countAgainstHourlyLimit, type SenderRights } from '../../smtp-edge/sending-policy.ts';
import { hourWindow, hourWindowExpiry } from '../../core/sending-limits.ts';
import { SubmittedHeaderReader } from '../../smtp-edge/submitted-header.ts';
import type { RecipientRoute } from '../../core/store/types.ts';

test('throttle: free failures, then a doubling delay up to the cap; forgotten after the quiet period', () => {
  let now = 0;
  const throttle = new LoginFailureCounter({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 350, lockoutFailures: 100, forgetAfterMs: 1000, now: () => now });
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
  const throttle = new LoginFailureCounter({ freeFailures: 1, baseDelayMs: 100, maxDelayMs: 1000, lockoutFailures: 3 });
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
  const throttle = new LoginFailureCounter({ freeFailures: 0, baseDelayMs: 10, maxEntries: 4 });
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
const rights = (sendAsDomains: string[] = []): SenderRights => ({
  account: 'demo@example.test',
  sendAsDomains,
  route: async (address) => routes[address] ?? { kind: 'remote', domain: address.split('@')[1]! },
});
const answer = (p: Promise<void>) => p.then(
  () => 'ok',
  (err: unknown) => (err instanceof SmtpError ? `${err.code} ${err.enhanced}` : 'other'),
);
const sender = (from: string, allowed: string[] = []) => answer(checkEnvelopeSender(rights(allowed), from));

test('sender policy (RFC 6409 §6.1): own address and addresses that reach the account; nothing else', async () => {
  assert.equal(await sender('demo@example.test'), 'ok');
  assert.equal(await sender('Demo@EXAMPLE.test'), 'ok');
  assert.equal(await sender('sales@example.test'), 'ok');
  assert.equal(await sender('team@example.test'), 'ok');
  assert.equal(await sender('bob@example.test'), '553 5.7.1');
  assert.equal(await sender('x@remote.test'), '553 5.7.1');
  assert.equal(await sender('gone@example.test'), '553 5.7.1');
  assert.equal(await sender(''), '553 5.7.1');
  assert.equal(await sender('x@remote.test', ['remote.test']), 'ok', 'a domain an administrator allowed');
  assert.equal(await sender('bob@example.test', ['remote.test']), '553 5.7.1');
});

/** The originator fields of a header, as the edge reads them while DATA streams. */
function originators(header: string) {
  const reader = new SubmittedHeaderReader('mx.test.local');
  reader.push(Buffer.from(`${header.replace(/\n/g, '\r\n')}\r\nbody\r\n`));
  return reader.originators!;
}
const fromRule = (header: string, allowed: string[] = []) => answer(checkOriginatorFields(rights(allowed), originators(header)));

test('From: and Sender: (RFC 6409 §6.1 on the header): one From field, every mailbox one the account may use', async () => {
  assert.equal(await fromRule('From: Demo <demo@example.test>\nTo: x@remote.test\n'), 'ok');
  assert.equal(await fromRule('From: "Sales" <SALES@example.test>\nSender: demo@example.test\n'), 'ok');
  assert.equal(await fromRule('From: boss@other.test\n'), '553 5.7.1');
  assert.equal(await fromRule('From: boss@other.test\n', ['other.test']), 'ok');
  assert.equal(await fromRule('From: demo@example.test\nSender: bob@example.test\n'), '553 5.7.1', 'a forged Sender:');
  assert.equal(await fromRule('From: demo@example.test, boss@other.test\n'), '553 5.7.1', 'every mailbox of the list');
  assert.equal(await fromRule('From: "demo@example.test" <boss@other.test>\n'), '553 5.7.1', 'the display name is not the address');
  assert.equal(await fromRule('From: boss@other.test (demo@example.test)\n'), '553 5.7.1', 'nor is a comment');
  assert.equal(await fromRule('From: friends: demo@example.test, boss@other.test;\n'), '553 5.7.1', 'group members count');
  assert.equal(await fromRule('From: demo@example.test\nFrom: boss@other.test\n'), '554 5.6.0', 'a second From field');
  assert.equal(await fromRule('To: x@remote.test\n'), '554 5.6.0', 'no From field');
  assert.equal(await fromRule('From: undisclosed:;\n'), '554 5.6.0', 'no mailbox');
  assert.equal(await fromRule('From: demo\n'), '553 5.7.1', 'no domain');
  assert.equal(await fromRule('From:\n demo@example.test\n'), 'ok', 'folded');
});

test('submitted header: held until complete whatever the chunking, untrusted trace fields dropped, everything else byte for byte', () => {
  const message = Buffer.from([
    'Return-Path: <boss@other.test>',
    'Received: from trusted.example by mx.test.local with ESMTPS id forged;',
    '\tFri, 20 Nov 2026 10:00:00 +0000',
    'Received: from laptop (laptop.lan [10.0.0.2]) by mail.isp.test; Fri, 20 Nov 2026 09:59:00 +0000',
    'From: demo@example.test',
    'Subject: hi',
    '',
    'Return-Path: in the body stays',
    '',
  ].join('\r\n'));
  for (const size of [1, 2, 3, 7, message.length]) {
    const reader = new SubmittedHeaderReader('MX.test.local');
    const out: Buffer[] = [];
    for (let i = 0; i < message.length; i += size) {
      const step = reader.push(message.subarray(i, i + size));
      assert.equal(step.kind, 'bytes');
      if (step.kind === 'bytes') out.push(step.bytes);
    }
    out.push(reader.finish());
    const text = Buffer.concat(out).toString('latin1');
    assert.equal(text, message.toString('latin1').replace(/^Return-Path: <boss@other.test>\r\nReceived: from trusted[^]*?\+0000\r\n/, ''), `chunks of ${size}`);
    assert.deepEqual(reader.originators, { fromFields: 1, from: ['demo@example.test'], sender: [] });
  }
  const hidden = new SubmittedHeaderReader('mx.test.local');
  const step0 = hidden.push(Buffer.from('Received: from a by relay.test (via by MX.test.local.); x\r\nFrom: demo@example.test\r\n\r\n'));
  assert.ok(step0.kind === 'bytes' && step0.bytes.toString() === 'From: demo@example.test\r\n\r\n', 'a by-clause naming us anywhere in the field');
  const untouched = Buffer.from('From: demo@example.test\r\nReceived: by mx.test.local.evil; x\r\n\r\nbody\r\n');
  const reader = new SubmittedHeaderReader('mx.test.local');
  const step = reader.push(untouched);
  assert.ok(step.kind === 'bytes' && step.bytes.equals(untouched), 'nothing to drop: the same bytes');
  const big = new SubmittedHeaderReader('mx.test.local', 1024);
  assert.equal(big.push(Buffer.from(`X-Long: ${'a'.repeat(2000)}\r\n`)).kind, 'too-large');
  const noBody = new SubmittedHeaderReader('mx.test.local');
  assert.equal((noBody.push(Buffer.from('From: demo@example.test\r\n')) as { bytes: Buffer }).bytes.length, 0, 'held: no blank line yet');
  assert.equal(noBody.finish().toString(), 'From: demo@example.test\r\n');
  assert.equal(noBody.originators?.fromFields, 1);
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
