// Forwards through Amazon SES leave with a From: of ours (docs/decisions/0013-forwarded-from.md):
// SES refuses a From: whose domain is not a verified identity, so internet mail an alias forwards
// out is sent as the alias, the author kept in Reply-To: and X-Original-From:, the body byte for
// byte, and signed by the alias's domain. Submitted mail, and a forward whose From: is already
// ours, go as they are. The relay runs on the emulators with SES answered in-process (ses-stub.ts).
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateDkimKey } from '../../../core/dkim.ts';
import type { QueueSender } from '../../../core/queues.ts';
import { SenderRewriting } from '../../../core/srs.ts';
import { forwardedAs, nextHopVerifiesFrom, rewriteForwardedFrom } from '../../../functions/relay/forwarded-from.ts';
import type { TestWorld } from '../../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import { eventually, freshDomains, type RelayRig, type SesRig, startSesRig } from './helpers.ts';
import type { SesStub } from './ses-stub.ts';

const headerOf = (raw: Buffer) => raw.subarray(0, raw.indexOf('\r\n\r\n') + 2).toString('utf8');
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);
const field = (raw: Buffer, name: string) => [...headerOf(raw).matchAll(new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r\\n[ \\t].*)*)\\r\\n`, 'gim'))].map((m) => m[1]!.replace(/\r\n(?=[ \t])/g, ''));

/** A message from the internet: folded From:, 8-bit body with trailing spaces and a lone dot line. */
function internetMessage(from: string, to: string, extra: string[] = []): Buffer {
  return Buffer.concat([
    Buffer.from([
      'Received: from mx.outside.test by mail.example.test; Fri, 20 Nov 2026 10:15:00 +0000',
      `From: =?UTF-8?Q?J=C3=B6rg_Outsider?=\r\n <${from}>`,
      `To: <${to}>`,
      ...extra,
      'Subject: Forward me',
      'Date: Fri, 20 Nov 2026 10:15:00 +0000',
      `Message-ID: <${randomBytes(6).toString('hex')}@outside.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      '',
    ].join('\r\n')),
    Buffer.from('Grüße, line one.   \r\n..\r\nFrom: not a header\r\n\r\nlast line\r\n', 'utf8'),
  ]);
}

describe('rewriteForwardedFrom', () => {
  const ours = async (d: string) => d === 'example.org';
  it('puts the alias in From:, the author in Reply-To: and X-Original-From:, and keeps every other byte', async () => {
    const raw = internetMessage('jorg@outside.test', 'fwd@example.org');
    const out = await rewriteForwardedFrom(raw, 'fwd@example.org', ours);
    assert.equal(out.kind, 'rewritten');
    const message = out.kind === 'rewritten' ? out.message : raw;
    // RFC 2047 §5 (3): in a phrase an encoded word may not carry a '.', hence =2E.
    assert.deepEqual(field(message, 'From'), ['=?UTF-8?Q?J=C3=B6rg_Outsider_via_example=2Eorg?= <fwd@example.org>']);
    assert.deepEqual(field(message, 'Reply-To'), ['=?UTF-8?Q?J=C3=B6rg_Outsider?= <jorg@outside.test>'], 'replies go to the author');
    assert.deepEqual(field(message, 'X-Original-From'), ['=?UTF-8?Q?J=C3=B6rg_Outsider?= <jorg@outside.test>']);
    assert.ok(bodyOf(message).equals(bodyOf(raw)), 'the body is byte-exact');
    // The other fields are where they were, and the new ones stand where From: stood.
    const names = (m: Buffer) => headerOf(m).split('\r\n').filter((l) => /^\S+:/.test(l)).map((l) => l.split(':')[0]);
    assert.deepEqual(names(message), ['Received', 'From', 'Reply-To', 'X-Original-From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']);
  });

  it('keeps a Reply-To: the author set, quotes a plain name, and names the address when there is none', async () => {
    const withReplyTo = Buffer.from('From: "Ann \\"A\\" Smith" <ann@outside.test>\r\nReply-To: <list@outside.test>\r\nSubject: x\r\n\r\nbody\r\n');
    const out = await rewriteForwardedFrom(withReplyTo, 'fwd@example.org', ours);
    assert.ok(out.kind === 'rewritten');
    assert.deepEqual(field(out.message, 'From'), ['"Ann \\"A\\" Smith via example.org" <fwd@example.org>']);
    assert.deepEqual(field(out.message, 'Reply-To'), ['<list@outside.test>']);
    const bare = await rewriteForwardedFrom(Buffer.from('From: bob@outside.test\r\n\r\nbody\r\n'), 'fwd@example.org', ours);
    assert.ok(bare.kind === 'rewritten');
    assert.deepEqual(field(bare.message, 'From'), ['"bob@outside.test via example.org" <fwd@example.org>']);
  });

  it('leaves a From: of our own domains, and a message without From:, as they are', async () => {
    assert.deepEqual(await rewriteForwardedFrom(Buffer.from('From: Carol <carol@example.org>\r\n\r\nx\r\n'), 'fwd@example.org', ours), { kind: 'unchanged', reason: 'ours' });
    assert.deepEqual(await rewriteForwardedFrom(Buffer.from('Subject: none\r\n\r\nx\r\n'), 'fwd@example.org', ours), { kind: 'unchanged', reason: 'no-from' });
  });

  it('applies to forwards through SES only', () => {
    assert.equal(nextHopVerifiesFrom({ smarthost: { kind: 'ses-api', region: 'eu-west-1' } }), true);
    const smtp = { kind: 'smtp' as const, port: 587, tls: 'starttls' as const, verifyCertificate: true, secretArn: null, username: null, password: null };
    assert.equal(nextHopVerifiesFrom({ smarthost: { ...smtp, host: 'email-smtp.eu-west-1.amazonaws.com' } }), true);
    assert.equal(nextHopVerifiesFrom({ smarthost: { ...smtp, host: 'smtp.other-provider.test' } }), false);
    assert.equal(nextHopVerifiesFrom({ smarthost: null }), false, 'direct to MX the original From: keeps its DKIM signature intact');
    assert.equal(forwardedAs({ authenticatedUser: 'alice@example.org', mailFrom: 'alice@example.org' }), null, 'submitted');
    assert.equal(forwardedAs({ authenticatedUser: null, mailFrom: '' }), null, 'our own report');
    assert.equal(forwardedAs({ authenticatedUser: null, mailFrom: 'SRS0=x=yy=o.test=a@example.org', forwardedBy: 'fwd@example.org' }), 'fwd@example.org');
  });
});

describe('a forward through the SES API', () => {
  let world: TestWorld;
  let rig: RelayRig;
  let ses: SesStub;
  let queues: QueueSender;
  let sesRig: SesRig;
  const srs = new SenderRewriting({ secrets: ['the forwarded-from test secret'] });

  before(async () => {
    sesRig = await startSesRig({ srs });
    ({ world, rig, ses, queues } = sesRig);
  });
  after(() => sesRig?.close());

  const hex = () => randomBytes(4).toString('hex');
  async function scenario() {
    const { local, remote } = await freshDomains(rig);
    await rig.store.directory.addAlias(`fwd@${local}`, [`someone@${remote}`]);
    return { local, remote };
  }
  const send = async (raw: Buffer, mailFrom: string, to: string, authenticatedUser: string | null) => {
    const event = await storedEvent(rig.blobs, raw, [to], { mailFrom, authenticatedUser, receivedAt: new Date().toISOString() });
    await queues.sendInbound(world.config.resources.queues.inbound, event);
  };
  const sentTo = async (remote: string) => {
    await eventually(() => ses.requests.some((r) => r.destinations.some((d) => d.endsWith(`@${remote}`))), `SES got the message for ${remote}`);
    return ses.requests.find((r) => r.destinations.some((d) => d.endsWith(`@${remote}`)))!;
  };

  test('internet mail to an alias leaves as the alias, Reply-To the author, signed by the alias\'s domain, body byte-exact', async () => {
    const { local, remote } = await scenario();
    await rig.dkim.put(generateDkimKey(local, 'fwd2026'));
    const original = internetMessage('jorg@outside.test', `fwd@${local}`);
    await send(original, 'jorg@outside.test', `fwd@${local}`, null);
    const request = await sentTo(remote);
    assert.match(request.fromEmailAddress ?? '', new RegExp(`^SRS0=.*@${local}$`), 'the envelope sender is the SRS address');
    assert.deepEqual(field(request.raw, 'From'), [`=?UTF-8?Q?J=C3=B6rg_Outsider_via_${local.replace('.', '=2E')}?= <fwd@${local}>`]);
    assert.deepEqual(field(request.raw, 'Reply-To'), ['=?UTF-8?Q?J=C3=B6rg_Outsider?= <jorg@outside.test>']);
    assert.deepEqual(field(request.raw, 'X-Original-From'), ['=?UTF-8?Q?J=C3=B6rg_Outsider?= <jorg@outside.test>']);
    assert.ok(bodyOf(request.raw).equals(bodyOf(original)), 'the body is byte-exact');
    const signature = field(request.raw, 'DKIM-Signature');
    assert.equal(signature.length, 1);
    assert.match(signature[0]!, new RegExp(`\\bd=${local.replace(/\./g, '\\.')};`), 'the alias\'s domain vouches for the From: it wrote');
  });

  test('mail an account submitted goes as written', async () => {
    const { local, remote } = await scenario();
    const original = internetMessage(`alice@${local}`, `bob@${remote}`);
    await send(original, `alice@${local}`, `bob@${remote}`, `alice@${local}`);
    const request = await sentTo(remote);
    assert.deepEqual(field(request.raw, 'From'), [`=?UTF-8?Q?J=C3=B6rg_Outsider?= <alice@${local}>`]);
    assert.deepEqual(field(request.raw, 'X-Original-From'), []);
    assert.deepEqual(field(request.raw, 'Reply-To'), []);
  });

  test('a forward whose From: is already one of our domains goes as written', async () => {
    const { local, remote } = await scenario();
    const other = `o${hex()}.test`;
    await rig.store.directory.addDomain(other);
    const original = internetMessage(`carol@${other}`, `fwd@${local}`);
    await send(original, `carol@${other}`, `fwd@${local}`, null);
    const request = await sentTo(remote);
    assert.deepEqual(field(request.raw, 'From'), [`=?UTF-8?Q?J=C3=B6rg_Outsider?= <carol@${other}>`]);
    assert.deepEqual(field(request.raw, 'X-Original-From'), []);
    assert.ok(headerOf(request.raw).length > 0 && bodyOf(request.raw).equals(bodyOf(original)));
  });
});
