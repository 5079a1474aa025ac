// Message authentication of mail from outside (core/authentication/): every SPF, DKIM, DMARC and
// ARC verdict against zones the test publishes, with keys it generates; the policy each verdict
// leads to; the DNS cache and the per-message budget. No lookup leaves the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dkimSign, sealMessage } from 'mailauth';
import { budgetedResolver, DnsAnswerCache } from '../../core/authentication/dns.ts';
import { decideInbound, DEFAULT_INBOUND_POLICY, effectiveInboundPolicy } from '../../core/authentication/policy.ts';
import { startVerification, type AuthenticationResults } from '../../core/authentication/verify.ts';
import { dkimKey, zoneResolver, type Zones } from '../helpers/dns-zones.ts';

const ORIGIN_IP = '192.0.2.10';
const FORWARDER_IP = '192.0.2.20';
const ELSEWHERE_IP = '198.51.100.7';
const origin = dkimKey();
const forwarder = dkimKey();
const ours = dkimKey();

const ZONES: Zones = {
  'origin.test': { TXT: `v=spf1 ip4:${ORIGIN_IP} -all` },
  'mail.origin.test': { TXT: `v=spf1 ip4:${ORIGIN_IP} -all`, A: ORIGIN_IP },
  'sel._domainkey.origin.test': { TXT: origin.record },
  '_dmarc.origin.test': { TXT: 'v=DMARC1; p=reject' },
  'soft.test': { TXT: `v=spf1 ip4:${ORIGIN_IP} ~all` },
  '_dmarc.soft.test': { TXT: 'v=DMARC1; p=quarantine' },
  'nopolicy.test': { TXT: `v=spf1 ip4:${ORIGIN_IP} -all` },
  'broken.test': { TXT: 'v=spf1 ip4:not-an-address -all' },
  'slow.test': { TXT: 'timeout' },
  '_dmarc.slow.test': { TXT: 'timeout' },
  'failing.test': { TXT: 'servfail' },
  'forwarder.test': { TXT: `v=spf1 ip4:${FORWARDER_IP} -all` },
  'arc._domainkey.forwarder.test': { TXT: forwarder.record },
  'quarantined.test': { TXT: `v=spf1 ip4:${ORIGIN_IP} -all` },
  'sel._domainkey.quarantined.test': { TXT: origin.record },
  '_dmarc.quarantined.test': { TXT: 'v=DMARC1; p=quarantine' },
  'mail._domainkey.example.test': { TXT: ours.record },
};

function message(from: string, subject = 'hello', body = 'Hello there.\r\n'): Buffer {
  return Buffer.from(`From: Someone <${from}>\r\nTo: demo@example.test\r\nSubject: ${subject}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@test>\r\n\r\n${body}`);
}

async function signed(raw: Buffer, domain: string, selector: string, privateKey: string): Promise<Buffer> {
  const signature = { signingDomain: domain, selector, privateKey };
  const out = await dkimSign(raw, { ...signature, signatureData: [signature] });
  assert.deepEqual(out.errors, []);
  return Buffer.concat([Buffer.from(out.signatures), raw]);
}

async function verify(raw: Buffer, facts: { ip: string; mailFrom: string; helo?: string }, options: { zones?: Zones; budgetMs?: number } = {}): Promise<AuthenticationResults> {
  const resolver = budgetedResolver(new DnsAnswerCache(zoneResolver(options.zones ?? ZONES).resolve), options.budgetMs ?? 2_000);
  const verification = startVerification({ helo: 'mail.origin.test', ...facts, authservId: 'mx.example.test' }, resolver);
  // a few chunks, as DATA arrives
  for (let at = 0; at < raw.length; at += 7) verification.sink.write(raw.subarray(at, at + 7));
  verification.sink.end();
  resolver.startClock();
  return verification.results;
}

test('SPF: pass, fail, softfail, none, permerror and temperror for MAIL FROM, and the HELO identity apart', async () => {
  const raw = message('someone@nopolicy.test');
  const cases: Array<[string, string, string]> = [
    ['a@origin.test', ORIGIN_IP, 'pass'],
    ['a@origin.test', ELSEWHERE_IP, 'fail'],
    ['a@soft.test', ELSEWHERE_IP, 'softfail'],
    ['a@unpublished.test', ORIGIN_IP, 'none'],
    ['a@broken.test', ORIGIN_IP, 'permerror'],
    ['a@failing.test', ORIGIN_IP, 'temperror'],
  ];
  for (const [mailFrom, ip, expected] of cases) {
    const results = await verify(raw, { ip, mailFrom });
    assert.equal(results.spf.result, expected, `${mailFrom} from ${ip}`);
    assert.match(results.header, new RegExp(`^\\tspf=${expected} smtp\\.mailfrom=${mailFrom.replace('.', '\\.')};`, 'm'));
  }
  const helo = await verify(raw, { ip: ELSEWHERE_IP, mailFrom: 'a@origin.test', helo: 'mail.origin.test' });
  assert.deepEqual(helo.spfHelo, { result: 'fail', helo: 'mail.origin.test' });
  const literal = await verify(raw, { ip: ORIGIN_IP, mailFrom: 'a@origin.test', helo: '[192.0.2.10]' });
  assert.equal(literal.spfHelo, null, 'an address literal has no HELO identity to check');
});

test('SPF temperror by timeout: the budget cuts the lookup off and the results come back at once', async () => {
  const started = Date.now();
  const results = await verify(message('a@slow.test'), { ip: ORIGIN_IP, mailFrom: 'a@slow.test' }, { budgetMs: 300 });
  assert.equal(results.spf.result, 'temperror');
  assert.equal(results.dmarc?.result, 'temperror');
  assert.ok(results.dns.cutOff >= 1, 'the budget cut a lookup off');
  // bounded by the budget (twice: before the clock starts each lookup has it alone), not by the DNS
  assert.ok(Date.now() - started < 30_000);
});

test('DKIM with a key the test made: pass; a changed header fails, a changed body is neutral (body hash); a missing key is neutral', async () => {
  const raw = await signed(message('a@origin.test'), 'origin.test', 'sel', origin.privateKey);
  const pass = await verify(raw, { ip: ELSEWHERE_IP, mailFrom: 'bounce@elsewhere.test' });
  assert.deepEqual(pass.dkim, [{ result: 'pass', domain: 'origin.test', selector: 'sel' }]);
  assert.match(pass.header, /^\tdkim=pass header\.d=origin\.test header\.s=sel;/m);

  const tamperedHeader = Buffer.from(raw.toString('latin1').replace('Subject: hello', 'Subject: hello!'), 'latin1');
  assert.equal((await verify(tamperedHeader, { ip: ELSEWHERE_IP, mailFrom: '' })).dkim[0]!.result, 'fail');
  // mailauth's lenient default (RFC 6376 §6.1.3 leaves the result of a body hash mismatch open)
  const tamperedBody = Buffer.from(raw.toString('latin1').replace('Hello there.', 'Hello there!'), 'latin1');
  assert.equal((await verify(tamperedBody, { ip: ELSEWHERE_IP, mailFrom: '' })).dkim[0]!.result, 'neutral');

  const unknownSelector = await signed(message('a@origin.test'), 'origin.test', 'gone', origin.privateKey);
  assert.equal((await verify(unknownSelector, { ip: ELSEWHERE_IP, mailFrom: '' })).dkim[0]!.result, 'neutral');
});

test('DMARC: aligned DKIM passes whatever SPF says; unaligned mail fails with the published policy', async () => {
  const raw = await signed(message('a@origin.test'), 'origin.test', 'sel', origin.privateKey);
  const pass = await verify(raw, { ip: ELSEWHERE_IP, mailFrom: 'list@elsewhere.test' });
  assert.equal(pass.dmarc?.result, 'pass');
  assert.equal(decideInbound(pass, [DEFAULT_INBOUND_POLICY], null).kind, 'accept');

  const forged = await verify(message('ceo@origin.test'), { ip: ELSEWHERE_IP, mailFrom: 'x@elsewhere.test' });
  assert.deepEqual(forged.dmarc, { result: 'fail', policy: 'reject', fromDomain: 'origin.test' });
  assert.match(forged.header, /^\tdmarc=fail policy\.dmarc=reject header\.from=origin\.test;/m);
  const verdict = decideInbound(forged, [DEFAULT_INBOUND_POLICY], null);
  assert.equal(verdict.kind, 'refuse');
  assert.equal(verdict.kind === 'refuse' && verdict.reply.reply, '550 5.7.1 Message rejected: it fails the DMARC policy of origin.test'.slice(4));

  const soft = await verify(message('a@soft.test'), { ip: ELSEWHERE_IP, mailFrom: 'a@soft.test' });
  assert.deepEqual([soft.spf.result, soft.dmarc?.result, soft.dmarc?.policy], ['softfail', 'fail', 'quarantine']);
  assert.deepEqual(decideInbound(soft, [DEFAULT_INBOUND_POLICY], null), { kind: 'quarantine', reason: 'dmarc-quarantine' });

  const none = await verify(message('a@nopolicy.test'), { ip: ELSEWHERE_IP, mailFrom: 'a@nopolicy.test' });
  assert.equal(none.dmarc?.result, 'none');
  assert.equal(decideInbound(none, [DEFAULT_INBOUND_POLICY], null).kind, 'accept');
});

test('the settings: p=reject can be quarantined or accepted instead, per recipient domain', async () => {
  const forged = await verify(message('ceo@origin.test'), { ip: ELSEWHERE_IP, mailFrom: 'x@elsewhere.test' });
  assert.equal(decideInbound(forged, [effectiveInboundPolicy({ dmarcReject: 'quarantine' })], null).kind, 'quarantine');
  assert.equal(decideInbound(forged, [effectiveInboundPolicy({ dmarcReject: 'accept' })], null).kind, 'accept');
  // one domain refuses, another accepts: one reply for all, so the message goes to Junk for both
  assert.deepEqual(decideInbound(forged, [DEFAULT_INBOUND_POLICY, effectiveInboundPolicy({ dmarcReject: 'accept' })], null), { kind: 'quarantine', reason: 'dmarc-reject' });
  assert.deepEqual(effectiveInboundPolicy({ dmarcReject: 'bogus', ownDomainForgery: 'quarantine' }), { ...DEFAULT_INBOUND_POLICY, ownDomainForgery: 'quarantine' });
});

test('a From: of our own domain that does not authenticate is refused whatever it publishes', async () => {
  // example.test publishes no DMARC record here (as on a machine with no outside DNS)
  const forged = await verify(message('boss@example.test'), { ip: ELSEWHERE_IP, mailFrom: 'boss@example.test' });
  assert.equal(forged.dmarc?.result, 'none');
  const verdict = decideInbound(forged, [DEFAULT_INBOUND_POLICY], 'example.test');
  assert.equal(verdict.kind, 'refuse');
  assert.equal(verdict.kind === 'refuse' && `${verdict.reply.code} ${verdict.reply.reply}`, '550 5.7.1 Message rejected: From: example.test is our domain and this message is not authenticated by it');

  // signed with our own key (a message of ours that came back through a forwarder): accepted
  const ownSigned = await signed(message('boss@example.test'), 'example.test', 'mail', ours.privateKey);
  const genuine = await verify(ownSigned, { ip: ELSEWHERE_IP, mailFrom: 'fwd@elsewhere.test' });
  assert.equal(decideInbound(genuine, [DEFAULT_INBOUND_POLICY], 'example.test').kind, 'accept');

  // our DNS timing out: the sender is asked to retry rather than have its mail refused or let in
  const slowZones: Zones = { ...ZONES, 'example.test': { TXT: 'timeout' } };
  const unknown = await verify(message('boss@example.test'), { ip: ELSEWHERE_IP, mailFrom: 'boss@example.test' }, { zones: slowZones, budgetMs: 200 });
  const deferred = decideInbound(unknown, [DEFAULT_INBOUND_POLICY], 'example.test');
  assert.equal(deferred.kind === 'refuse' && deferred.reply.code, 451);
  assert.equal(decideInbound(forged, [effectiveInboundPolicy({ ownDomainForgery: 'quarantine' })], 'example.test').kind, 'quarantine');

  // our domain beside another one in From: (DMARC cannot be evaluated at all): still refused
  const twoAuthors = Buffer.from(message('boss@example.test').toString().replace('From: Someone <boss@example.test>', 'From: boss@example.test, someone@nopolicy.test'));
  const both = await verify(twoAuthors, { ip: ORIGIN_IP, mailFrom: 'someone@nopolicy.test' });
  assert.deepEqual([both.fromDomain, both.dmarc, both.authorDomains], [null, null, ['example.test', 'nopolicy.test']]);
  assert.equal(decideInbound(both, [DEFAULT_INBOUND_POLICY], 'example.test').kind, 'refuse');
});

test('ARC: a forwarder that changed the message and sealed it gives arc=pass; DKIM of the origin fails', async () => {
  const original = await signed(message('a@quarantined.test', 'hello'), 'quarantined.test', 'sel', origin.privateKey);
  // the list adds a tag to the Subject (breaking the origin's signature), then seals what it sends
  const changed = Buffer.from(original.toString('latin1').replace('Subject: hello', 'Subject: [list] hello'), 'latin1');
  const seal = await sealMessage(changed, {
    signingDomain: 'forwarder.test', selector: 'arc', privateKey: forwarder.privateKey, cv: 'none',
    authResults: 'lists.forwarder.test; dkim=pass header.d=quarantined.test; spf=pass smtp.mailfrom=a@quarantined.test',
  });
  assert.ok(seal.length > 0, 'sealed');
  const forwarded = Buffer.concat([seal, changed]);
  const results = await verify(forwarded, { ip: FORWARDER_IP, mailFrom: 'bounces@forwarder.test', helo: 'lists.forwarder.test' });
  assert.equal(results.arc.result, 'pass');
  assert.equal(results.spf.result, 'pass');
  assert.equal(results.dkim.find((d) => d.domain === 'quarantined.test')?.result, 'fail');
  assert.equal(results.dmarc?.result, 'fail');
  assert.match(results.header, /^\tarc=pass\r\n$/m);
  // ARC is recorded, not trusted: no list of sealers is kept, so p=quarantine still quarantines
  assert.equal(decideInbound(results, [DEFAULT_INBOUND_POLICY], null).kind, 'quarantine');
});

test('the header: one field, authserv-id first, every mechanism once a line, values quoted when they must be', async () => {
  const results = await verify(message('a@nopolicy.test'), { ip: ORIGIN_IP, mailFrom: 'odd "name"@nopolicy.test' });
  const lines = results.header.split('\r\n');
  assert.equal(lines[0], 'Authentication-Results: mx.example.test;');
  assert.equal(lines.at(-1), '');
  assert.ok(lines.slice(1, -1).every((l) => l.startsWith('\t')), 'folded with a tab');
  assert.match(results.header, /smtp\.mailfrom="odd \\"name\\"@nopolicy\.test"/);
  assert.deepEqual(lines.slice(1, -1).map((l) => /^\t(\w+)=/.exec(l)?.[1]), ['spf', 'spf', 'dkim', 'dmarc', 'arc']);
});

test('DNS cache: one query for concurrent askers, answers and "no such name" reused, bounded in size', async () => {
  const zones = zoneResolver({ 'a.test': { TXT: 'one' }, 'b.test': { TXT: 'two' }, 'c.test': { TXT: 'three' } });
  const cache = new DnsAnswerCache(zones.resolve, { maxEntries: 2, positiveTtlMs: 60_000, negativeTtlMs: 60_000 });
  await Promise.all([cache.lookup('a.test', 'TXT'), cache.lookup('A.TEST.', 'txt')]);
  assert.deepEqual(zones.asked, ['TXT a.test']);
  await assert.rejects(cache.lookup('missing.test', 'TXT'), { code: 'ENOTFOUND' });
  await assert.rejects(cache.lookup('missing.test', 'TXT'), { code: 'ENOTFOUND' });
  assert.equal(zones.asked.filter((q) => q === 'TXT missing.test').length, 1, 'a negative answer is kept');
  await cache.lookup('b.test', 'TXT');
  await cache.lookup('c.test', 'TXT');
  assert.equal(cache.size, 2);
  await cache.lookup('a.test', 'TXT');
  assert.equal(zones.asked.filter((q) => q === 'TXT a.test').length, 2, 'the oldest answer went');
});

test('DNS budget: once spent, every further lookup of the message fails at once with ETIMEOUT', async () => {
  const zones = zoneResolver({ 'hang.test': { TXT: 'timeout' }, 'fine.test': { TXT: 'ok' } });
  const resolver = budgetedResolver(new DnsAnswerCache(zones.resolve), 50);
  resolver.startClock();
  const hanging = resolver.resolve('hang.test', 'TXT');
  await assert.rejects(hanging, { code: 'ETIMEOUT' });
  await assert.rejects(resolver.resolve('fine.test', 'TXT'), { code: 'ETIMEOUT' });
  assert.deepEqual(resolver.spend(), { lookups: 2, cutOff: 2 });
  // another message has its own budget, and finds the answer the first one never waited for
  const next = budgetedResolver(new DnsAnswerCache(zones.resolve), 1_000);
  assert.deepEqual(await next.resolve('fine.test', 'TXT'), [['ok']]);
});
