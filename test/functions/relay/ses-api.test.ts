// The relay sending through the SES API (SESv2 SendEmail, raw content) on the emulators, with SES
// answered in-process (ses-stub.ts): what the relay sends, and how each documented SES answer
// settles the recipients (delivered, retried with SES's words, bounced with an RFC 3463 code).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import type { TestWorld } from '../../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import type { QueueSender } from '../../../core/queues.ts';
import { outboundIdFor } from '../../../core/outbound/enqueue.ts';
import { replyOfSesError, sendThroughSesApi, SES_MAX_RECIPIENTS } from '../../../functions/relay/ses-api.ts';
import { eventually, type FakeMx, freshDomains, outgoingMessage, type RelayRig, type SesRig, startSesRig } from './helpers.ts';
import { SES_ERRORS, SesStub } from './ses-stub.ts';

let world: TestWorld;
let rig: RelayRig;
let mx: FakeMx;
let ses: SesStub;
let queues: QueueSender;
let sesRig: SesRig;

before(async () => {
  sesRig = await startSesRig();
  ({ world, mx, rig, ses, queues } = sesRig);
});

after(() => sesRig?.close());

const scenario = () => freshDomains(rig);

async function submit(raw: Buffer, from: string, rcptTo: string[]) {
  const event = await storedEvent(rig.blobs, raw, rcptTo, { mailFrom: from, authenticatedUser: from, receivedAt: new Date().toISOString() });
  await queues.sendInbound(world.config.resources.queues.inbound, event);
  return event;
}

const toDomain = (domain: string) => ses.requests.filter((r) => r.destinations.some((d) => d.endsWith(`@${domain}`)));

test('SES accepts: one SendEmail with the raw message (no Return-Path), the envelope sender as FromEmailAddress, the recipients as Destination; nothing goes to any MX', async () => {
  const { remote, alice } = await scenario();
  const event = await submit(outgoingMessage(alice, `bob@${remote}`, 'Through SES'), alice, [`bob@${remote}`, `carol@${remote}`]);
  await eventually(() => toDomain(remote).length === 1, 'SES got the message');
  const [request] = toDomain(remote);
  assert.equal(request!.fromEmailAddress, alice);
  assert.deepEqual(request!.destinations.sort(), [`bob@${remote}`, `carol@${remote}`]);
  assert.ok(!/^return-path:/im.test(request!.raw.toString('latin1').split('\r\n\r\n')[0]!), 'RFC 5321 §4.4: the final MTA adds Return-Path');
  assert.equal((await simpleParser(request!.raw)).subject, 'Through SES');
  await eventually(async () => (await rig.records.get(outboundIdFor(event.id, remote)))?.state === 'delivered', 'the record says delivered');
  assert.equal(mx.received.length, 0);
});

test('MessageRejected (sender not verified): bounced at once with 5.7.1 and SES\'s words in the DSN', async () => {
  const { remote, alice } = await scenario();
  ses.answer = (r) => (r.destinations.some((d) => d.endsWith(`@${remote}`)) ? SES_ERRORS.messageRejected() : { accept: true });
  await submit(outgoingMessage(alice, `bob@${remote}`, 'Refused'), alice, [`bob@${remote}`]);
  await eventually(async () => (await rig.store.mailStore.listMessages(alice, 'INBOX')).length === 1, 'the DSN in alice\'s INBOX');
  const [dsn] = await rig.store.mailStore.listMessages(alice, 'INBOX');
  const text = (await rig.blobs.getBuffer(dsn!.blobKey)).toString('latin1');
  assert.match(text, /Status: 5\.7\.1/);
  assert.match(text, /Diagnostic-Code: smtp; 554 5\.7\.1 MessageRejected: Email address is not verified/);
  assert.equal(toDomain(remote).length, 1, 'a permanent refusal is not retried');
  ses.answer = () => ({ accept: true });
});

test('throttled, then SES paused, then accepted: retried with SES\'s words, delivered once', async () => {
  const { remote, alice } = await scenario();
  let n = 0;
  ses.answer = (r) => {
    if (!r.destinations.some((d) => d.endsWith(`@${remote}`))) return { accept: true };
    n++;
    return n === 1 ? SES_ERRORS.throttled() : n === 2 ? SES_ERRORS.sendingPaused() : { accept: true };
  };
  const event = await submit(outgoingMessage(alice, `bob@${remote}`, 'Later'), alice, [`bob@${remote}`]);
  await eventually(() => n === 3, 'three calls to SES', 20_000);
  await eventually(async () => (await rig.records.get(outboundIdFor(event.id, remote)))?.state === 'delivered', 'delivered on the third attempt', 20_000);
  const record = await rig.records.get(outboundIdFor(event.id, remote));
  assert.match(record!.event.attempts[0]!.error, /^451 4\.4\.5 TooManyRequestsException: Maximum sending rate exceeded/);
  assert.match(record!.event.attempts[1]!.error, /^451 4\.7\.0 SendingPausedException: Sending is paused/);
  assert.equal((await rig.store.mailStore.listMessages(alice, 'INBOX')).length, 0, 'no DSN for a delivery that succeeded');
  ses.answer = () => ({ accept: true });
});

test('each documented SES error maps to its outcome, through the SDK\'s own deserializer', async () => {
  const cases: Array<[ReturnType<(typeof SES_ERRORS)[keyof typeof SES_ERRORS]>, RegExp, 'answered' | 'host-failed', 4 | 5]> = [
    [SES_ERRORS.messageRejected('Message contains a virus'), /^554 5\.6\.0 MessageRejected: Message contains a virus$/, 'answered', 5],
    [SES_ERRORS.messageRejected(), /^554 5\.7\.1 MessageRejected: Email address is not verified/, 'answered', 5],
    [SES_ERRORS.mailFromNotVerified(), /^550 5\.7\.1 MailFromDomainNotVerifiedException: /, 'answered', 5],
    [SES_ERRORS.throttled(), /^451 4\.4\.5 TooManyRequestsException: Maximum sending rate exceeded\.$/, 'host-failed', 4],
    [SES_ERRORS.dailyQuota(), /^451 4\.4\.5 LimitExceededException: Daily message quota exceeded\.$/, 'host-failed', 4],
    [SES_ERRORS.sendingPaused(), /^451 4\.7\.0 SendingPausedException: /, 'host-failed', 4],
    [SES_ERRORS.internal(), /^451 4\.3\.0 InternalFailure: We encountered an internal error/, 'host-failed', 4],
    [{ error: 'AccessDeniedException', status: 403, message: 'User is not authorized to perform ses:SendRawEmail' }, /^451 4\.3\.5 AccessDeniedException: /, 'host-failed', 4],
  ];
  const stub = new SesStub();
  for (const [answer, reply, kind, cls] of cases) {
    stub.answer = () => answer;
    const result = await sendThroughSesApi({ client: stub.client, mailFrom: 'a@x.test', recipients: ['b@y.test'], message: Buffer.from('From: a@x.test\r\n\r\nHi\r\n'), deadline: Date.now() + 10_000 });
    assert.equal(result.kind, kind, answer.error);
    const text = result.kind === 'answered' ? result.replies[0]!.reply : result.kind === 'host-failed' ? result.reply : '';
    assert.match(text, reply);
    if (result.kind === 'answered') assert.equal(result.replies[0]!.class, cls);
    if (result.kind === 'host-failed') assert.equal(result.permanent, false, 'the account or AWS, not the message: retried');
  }
  // No answer at all (the network): temporary, with the error's words.
  assert.match(replyOfSesError(Object.assign(new Error('connect ETIMEDOUT 1.2.3.4:443'), { name: 'Error' })).reply, /^451 4\.4\.1 Error: connect ETIMEDOUT/);
});

test('more recipients than one SendEmail takes: batches of 50, each settled by its own answer; a null sender leaves FromEmailAddress to the From: header', async () => {
  const stub = new SesStub();
  stub.answer = (_r, n) => (n === 2 ? SES_ERRORS.messageRejected('Message contains a virus') : { accept: true });
  const recipients = Array.from({ length: SES_MAX_RECIPIENTS + 3 }, (_, i) => `r${i}@y.test`);
  const result = await sendThroughSesApi({ client: stub.client, mailFrom: '', recipients, message: Buffer.from('From: MAILER-DAEMON@mail.x.test\r\n\r\nHi\r\n'), deadline: Date.now() + 10_000 });
  assert.deepEqual(stub.requests.map((r) => r.destinations.length), [SES_MAX_RECIPIENTS, 3]);
  assert.equal(stub.requests[0]!.fromEmailAddress, undefined);
  assert.equal(result.kind, 'answered');
  assert.ok(result.kind === 'answered');
  assert.deepEqual(result.replies.map((r) => r.class), [...Array(SES_MAX_RECIPIENTS).fill(2), 5, 5, 5]);
});
