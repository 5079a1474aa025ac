// Pure parts of the relay: the Postfix-like schedule, SQS delay splitting, MX ordering and
// fallbacks (RFC 5321 §5.1, RFC 7505), the Return-Path strip, and the notBefore re-delay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RELAY_POLICY, decideRetry, nextRetryDelay, queueDelayUntil } from '../../../core/outbound/policy.ts';
import { orderMx, resolveDestination, type DnsResolver } from '../../../functions/relay/mx.ts';
import { deliverOutbound, withoutReturnPath, type RelayDeps } from '../../../functions/relay/deliver-outbound.ts';
import type { OutboundEvent } from '../../../core/contracts.ts';
import { SmtpError } from '../../../core/smtp-reply.ts';
import { RelayTelemetry } from './helpers.ts';

test('schedule: 5 min, doubling, capped at an hour (Postfix defaults)', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => nextRetryDelay(n, DEFAULT_RELAY_POLICY)), [300, 600, 1200, 2400, 3600, 3600, 3600]);
});

test('retry decisions: warn once after 4 h, last attempt at the expiry instant, then expire', () => {
  const first = new Date('2026-11-20T00:00:00Z');
  const at = (h: number) => new Date(first.getTime() + h * 3600_000);
  const early = decideRetry({ now: at(1), firstAttemptAt: first, failures: 3, warned: false, policy: DEFAULT_RELAY_POLICY });
  assert.deepEqual(early, { kind: 'retry', at: new Date(at(1).getTime() + 1200_000), warnNow: false });
  const late = decideRetry({ now: at(4), firstAttemptAt: first, failures: 6, warned: false, policy: DEFAULT_RELAY_POLICY });
  assert.equal(late.kind === 'retry' && late.warnNow, true);
  const warned = decideRetry({ now: at(5), firstAttemptAt: first, failures: 7, warned: true, policy: DEFAULT_RELAY_POLICY });
  assert.equal(warned.kind === 'retry' && warned.warnNow, false);
  const nearEnd = decideRetry({ now: at(119.9), firstAttemptAt: first, failures: 40, warned: true, policy: DEFAULT_RELAY_POLICY });
  assert.deepEqual(nearEnd, { kind: 'retry', at: at(120), warnNow: false });
  assert.deepEqual(decideRetry({ now: at(120), firstAttemptAt: first, failures: 41, warned: true, policy: DEFAULT_RELAY_POLICY }), { kind: 'expire' });
});

test('SQS delays: up to 900 s direct, longer waits as 900 s plus notBefore', () => {
  const now = new Date('2026-11-20T00:00:00Z');
  assert.deepEqual(queueDelayUntil(new Date(now.getTime() + 300_000), now), { delaySeconds: 300, notBefore: null });
  const far = new Date(now.getTime() + 3600_000);
  assert.deepEqual(queueDelayUntil(far, now), { delaySeconds: 900, notBefore: far });
});

test('a copy arriving before its notBefore is delayed again, nothing attempted', async () => {
  const sent: Array<{ event: OutboundEvent; delay: number | undefined }> = [];
  const now = new Date('2026-11-20T00:00:00Z');
  const telemetry = new RelayTelemetry();
  const deps = {
    records: { get: async () => null, advance: async () => true },
    queue: { queueUrl: 'q', sendOutbound: async (_u: string, event: OutboundEvent, delay?: number) => void sent.push({ event, delay }) },
    blobs: { bucket: 'b', getBuffer: async () => assert.fail('no attempt before notBefore'), put: async () => {} },
    now: () => now, logger: telemetry.logger, metrics: telemetry.metrics,
  } as unknown as RelayDeps;
  const base: OutboundEvent = {
    version: 1, id: 'abcdefgh-1', inboundId: 'abcdefgh', bucket: 'b', key: 'k', mailFrom: 'a@x.test', domain: 'y.test',
    recipients: ['b@y.test'], firstAttemptAt: now.toISOString(), attempts: [], sequence: 0,
  };
  assert.equal(await deliverOutbound({ ...base, notBefore: new Date(now.getTime() + 2000_000).toISOString() }, deps, Date.now() + 1000), 'redelayed');
  assert.equal(sent[0]!.delay, 900);
  assert.ok(sent[0]!.event.notBefore, 'still more than 900 s to go: notBefore kept');
  assert.equal(await deliverOutbound({ ...base, notBefore: new Date(now.getTime() + 600_000).toISOString() }, deps, Date.now() + 1000), 'redelayed');
  assert.equal(sent[1]!.delay, 600);
  assert.equal(sent[1]!.event.notBefore, undefined, 'the last leg needs no notBefore');
});

const dnsError = (code: string) => Object.assign(new Error(code), { code });
function resolver(mx: Record<string, Array<{ exchange: string; priority: number }> | string>, a: Record<string, string[]>): DnsResolver {
  return {
    async resolveMx(d) {
      const v = mx[d];
      if (typeof v === 'string') throw dnsError(v);
      if (!v) throw dnsError('ENODATA');
      return v;
    },
    async resolve4(h) {
      if (a[h]) return a[h]!;
      throw dnsError('ENODATA');
    },
    async resolve6() {
      throw dnsError('ENODATA');
    },
  };
}

test('MX order: ascending preference, equal preferences shuffled', () => {
  const records = [{ exchange: 'c', priority: 20 }, { exchange: 'a', priority: 10 }, { exchange: 'b', priority: 10 }];
  assert.deepEqual(orderMx(records, () => 0.99), ['a', 'b', 'c']);
  assert.deepEqual(orderMx(records, () => 0), ['b', 'a', 'c']);
});

test('destinations: MX hosts, implicit MX (A), null MX, NXDOMAIN, DNS failure', async () => {
  const r = resolver(
    { 'mx.test': [{ exchange: 'mx1.mx.test', priority: 5 }], 'null.test': [{ exchange: '', priority: 0 }], 'nx.test': 'ENOTFOUND', 'fail.test': 'ESERVFAIL' },
    { 'mx1.mx.test': ['192.0.2.1'], 'plain.test': ['192.0.2.2'] },
  );
  assert.deepEqual(await resolveDestination('mx.test', r, 25), { kind: 'hosts', hosts: [{ name: 'mx1.mx.test', addresses: ['192.0.2.1'], port: 25 }] });
  assert.deepEqual(await resolveDestination('plain.test', r, 25), { kind: 'hosts', hosts: [{ name: 'plain.test', addresses: ['192.0.2.2'], port: 25 }] });
  assert.deepEqual(await resolveDestination('null.test', r, 25), { kind: 'null-mx' });
  await assert.rejects(resolveDestination('nx.test', r, 25), (e: SmtpError) => e.code === 550 && e.enhanced === '5.1.2');
  await assert.rejects(resolveDestination('none.test', r, 25), (e: SmtpError) => e.code === 550 && e.enhanced === '5.1.2');
  await assert.rejects(resolveDestination('fail.test', r, 25), (e: SmtpError) => e.code === 451 && e.enhanced === '4.4.3');
});

test('the edge Return-Path (folded too) leaves; nothing else changes', () => {
  const body = Buffer.from('Received: x\r\nSubject: Return-Path: no\r\n\r\nReturn-Path: <body>\r\n');
  assert.ok(withoutReturnPath(Buffer.concat([Buffer.from('Return-Path: <a@b.test>\r\n'), body])).equals(body));
  assert.ok(withoutReturnPath(Buffer.concat([Buffer.from('return-path:\r\n <a@b.test>\r\n'), body])).equals(body));
  assert.ok(withoutReturnPath(body).equals(body));
});
