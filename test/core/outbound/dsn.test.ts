// RFC 3464 reports from core/outbound/dsn.ts: parts, fields, header-safe diagnostics, never to `<>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { buildDsn, countReceivedHeaders, statusOfReply } from '../../../core/outbound/dsn.ts';
import { indexMessage } from '../../../core/mime/index.ts';

const original = Buffer.from('Received: a\r\nReceived: b\r\nFrom: x@y.test\r\nSubject: Hi\r\nMessage-ID: <m1@y.test>\r\n\r\nsecret body\r\n');
const base = {
  hostname: 'mx.example.test', to: 'x@y.test', arrivalDate: new Date('2026-11-20T10:00:00Z'), now: new Date('2026-11-20T11:00:00Z'), original, id: 'fixedid',
};

test('a failure report: multipart/report with text, delivery-status and the original headers only', async () => {
  const dsn = buildDsn({ ...base, recipients: [{ address: 'b@far.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 Unknown\r\nInjected: yes', remoteMta: 'mx.far.test' }] });
  const text = dsn.toString('latin1');
  assert.doesNotMatch(text, /secret body/, 'the body of the original is not returned');
  assert.doesNotMatch(text, /^Injected:/m, 'a remote reply cannot add fields');
  assert.match(text, /^In-Reply-To: <m1@y\.test>\r$/m);
  const index = indexMessage(dsn);
  assert.equal(index.body.kind, 'multipart');
  assert.deepEqual(index.body.kind === 'multipart' ? index.body.parts.map((p) => `${p.type}/${p.subtype}`) : [], ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  const parsed = await simpleParser(dsn);
  assert.equal(parsed.subject, 'Undelivered Mail Returned to Sender');
  assert.equal(parsed.headers.get('auto-submitted'), 'auto-replied');
  assert.match(text, /Reporting-MTA: dns; mx\.example\.test\r\nArrival-Date: Fri, 20 Nov 2026 10:00:00 \+0000\r\n\r\nFinal-Recipient: rfc822; b@far\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; mx\.far\.test\r\n/);
});

test('never to the null reverse-path', () => {
  assert.throws(() => buildDsn({ ...base, to: '', recipients: [{ address: 'b@far.test', action: 'failed', status: '5.0.0', diagnostic: 'x' }] }));
});

test('status from replies, hop count from Received', () => {
  assert.equal(statusOfReply('550 5.7.1 Relaying denied', 5), '5.7.1');
  assert.equal(statusOfReply('421 Too busy', 4), '4.0.0');
  assert.equal(statusOfReply('connection refused', 4), '4.0.0');
  assert.equal(countReceivedHeaders(original), 2);
});
