// Submission on the wire (RFC 6409, RFC 4954, RFC 8314): AUTH only under TLS, mail only after
// AUTH, senders limited to the account's own addresses, limits and login throttling, and no
// relay without AUTH on any port. Replies are checked line by line, as in the RFC examples.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDirectory } from '../../core/store/index.ts';
import { hourWindow } from '../../core/sending-limits.ts';
import {
  DEMO, expectReply, plainToken, SmtpWire, startEdgeWorld, startSubmissionEdge, type EdgeWorld,
} from './helpers.ts';

let world: EdgeWorld;

before(async () => {
  world = await startEdgeWorld();
  await world.directory.addAccount('other@example.test', 'other password');
  await world.directory.addAlias('team@example.test', ['demo@example.test', 'other@example.test']);
  await world.directory.addAlias('others-alias@example.test', ['other@example.test']);
});
after(async () => {
  await world?.close();
});

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** 465: implicit TLS, EHLO, AUTH PLAIN as `user`; returns the wire ready for MAIL. */
async function loggedIn(port: number, user: string = DEMO.user, password: string = DEMO.password): Promise<SmtpWire> {
  const { wire } = await SmtpWire.connectTls(port);
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command(`AUTH PLAIN ${plainToken(user, password)}`), /^235 2\.7\.0 /);
  return wire;
}

test('587 in cleartext: STARTTLS offered, AUTH neither offered (RFC 8314 §3.3) nor accepted (538 5.7.11); MAIL needs AUTH (530 5.7.0)', async (t) => {
  const edge = await startSubmissionEdge(t, world);
  const { wire, greeting } = await SmtpWire.connect(edge.submission);
  t.after(() => wire.destroy());
  assert.match(greeting, /^220 mx\.test\.local /);
  const ehlo = await wire.command('EHLO client.test');
  assert.match(ehlo, /^250-STARTTLS$/m);
  assert.doesNotMatch(ehlo, /AUTH/);
  assert.equal(await wire.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), '538 5.7.11 Encryption required for requested authentication mechanism');
  assert.equal(await wire.command('AUTH LOGIN'), '538 5.7.11 Encryption required for requested authentication mechanism');
  assert.equal(await wire.command('MAIL FROM:<demo@example.test>'), '530 5.7.0 Authentication required');
  assert.equal(await wire.command('RCPT TO:<someone@remote.test>'), '530 5.7.0 Authentication required');

  const secure = await wire.startTls();
  const ehlo2 = await secure.command('EHLO client.test');
  assert.match(ehlo2, /^250[- ]AUTH PLAIN LOGIN$/m);
  assert.doesNotMatch(ehlo2, /STARTTLS/);
  assert.equal(await secure.command('MAIL FROM:<demo@example.test>'), '530 5.7.0 Authentication required');
  assert.equal(await secure.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), '235 2.7.0 Authentication successful');
  assert.equal(await secure.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), '503 5.5.1 Error: No identity changes permitted');
  assert.match(await secure.command('MAIL FROM:<demo@example.test>'), /^250 2\.1\.0 /);
  assert.match(await secure.command('RCPT TO:<someone@remote.test>'), /^250 2\.1\.5 /);
  secure.destroy();
});

test('unauthenticated relay is refused on every port: 25 (554 5.7.1), 587 and 465 (530 5.7.0)', async (t) => {
  const edge = await startSubmissionEdge(t, world);
  // MX: no AUTH offered, even under TLS, and no relay
  const { wire: mx } = await SmtpWire.connect(edge.mx);
  t.after(() => mx.destroy());
  assert.doesNotMatch(await mx.command('EHLO client.test'), /AUTH/);
  const mxTls = await mx.startTls();
  assert.doesNotMatch(await mxTls.command('EHLO client.test'), /AUTH/);
  assert.match(await mxTls.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), /^5\d\d /);
  assert.match(await mxTls.command('MAIL FROM:<demo@example.test>'), /^250 /);
  assert.equal(await mxTls.command('RCPT TO:<someone@remote.test>'), '554 5.7.1 Relay access denied');
  mxTls.destroy();

  for (const port of [edge.submission, edge.submissions]) {
    const { wire } = port === edge.submissions ? await SmtpWire.connectTls(port) : await SmtpWire.connect(port);
    assert.match(await wire.command('EHLO client.test'), /^250 /m);
    assert.equal(await wire.command('MAIL FROM:<demo@example.test>'), '530 5.7.0 Authentication required');
    assert.equal(await wire.command('RCPT TO:<someone@remote.test>'), '530 5.7.0 Authentication required');
    assert.equal(await wire.command('DATA'), '530 5.7.0 Authentication required');
    wire.destroy();
  }
});

test('wrong credentials: 535 5.7.8 with PLAIN and LOGIN; unknown user the same; another authzid is refused', async (t) => {
  const edge = await startSubmissionEdge(t, world);
  const { wire } = await SmtpWire.connectTls(edge.submissions);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  assert.equal(await wire.command(`AUTH PLAIN ${plainToken(DEMO.user, 'wrong')}`), '535 5.7.8 Authentication credentials invalid');
  assert.equal(await wire.command(`AUTH PLAIN ${plainToken('nobody@example.test', 'wrong')}`), '535 5.7.8 Authentication credentials invalid');
  // RFC 4954 §4 LOGIN: username and password prompts
  assert.equal(await wire.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
  assert.equal(await wire.command(b64(DEMO.user)), '334 UGFzc3dvcmQ6');
  assert.equal(await wire.command(b64('wrong')), '535 5.7.8 Authentication credentials invalid');
  // RFC 4616 §2: demo's password with authzid other@ would act as other@
  assert.equal(await wire.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password, 'other@example.test')}`), '535 5.7.8 Authentication credentials invalid');
  assert.equal(await wire.command('MAIL FROM:<demo@example.test>'), '530 5.7.0 Authentication required');
  // and the right password still works on the same session
  assert.equal(await wire.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
  assert.equal(await wire.command(b64(DEMO.user)), '334 UGFzc3dvcmQ6');
  assert.equal(await wire.command(b64(DEMO.password)), '235 2.7.0 Authentication successful');
});

test('MAIL FROM: own address and aliases reaching the account are accepted; forging another account, a remote address or <> is 553 5.7.1', async (t) => {
  const edge = await startSubmissionEdge(t, world);
  const wire = await loggedIn(edge.submissions);
  t.after(() => wire.destroy());
  const accepted = ['demo@example.test', 'DEMO@Example.TEST', 'sales@example.test', 'team@example.test', 'anything@catchall.test'];
  for (const from of accepted) {
    assert.match(await wire.command(`MAIL FROM:<${from}>`), /^250 2\.1\.0 /, from);
    assert.match(await wire.command('RSET'), /^250 /);
  }
  const forged = ['other@example.test', 'others-alias@example.test', 'demo@remote.test'];
  for (const from of forged) {
    assert.equal(await wire.command(`MAIL FROM:<${from}>`), `553 5.7.1 Sender address <${from}> is not owned by the authenticated user`, from);
  }
  assert.equal(await wire.command('MAIL FROM:<>'), '553 5.7.1 The null sender <> is not allowed for authenticated users');
});

test('recipients after AUTH: remote accepted, unknown local 550 5.1.1, over the per-message limit 452 4.5.3', async (t) => {
  const edge = await startSubmissionEdge(t, world, {
    submission: { ...world.edgeOptions.submission!, limits: { maxMessagesPerHour: 1000, maxRecipientsPerMessage: 3 } },
  });
  const wire = await loggedIn(edge.submissions);
  t.after(() => wire.destroy());
  assert.match(await wire.command('MAIL FROM:<demo@example.test>'), /^250 /);
  assert.match(await wire.command('RCPT TO:<friend@remote.test>'), /^250 2\.1\.5 /);
  assert.equal(await wire.command('RCPT TO:<nobody@example.test>'), '550 5.1.1 No such user here');
  assert.match(await wire.command('RCPT TO:<other@example.test>'), /^250 2\.1\.5 /);
  assert.match(await wire.command('RCPT TO:<second@remote.test>'), /^250 2\.1\.5 /);
  assert.match(await wire.command('RCPT TO:<third@remote.test>'), /^452 4\.5\.3 /);
});

test('hourly limit: counted in DynamoDB, so a second edge task sees the same count; over it 451 4.7.1', async (t) => {
  await world.directory.addAccount('limited@example.test', 'limited password');
  // A fixed clock: with the real one, a run straddling the top of an hour would count in two windows.
  const at = new Date('2026-03-01T10:30:00Z');
  const submission = { ...world.edgeOptions.submission!, limits: { maxMessagesPerHour: 2, maxRecipientsPerMessage: 10 }, now: () => at };
  const taskA = await startSubmissionEdge(t, world, { submission });
  const taskB = await startSubmissionEdge(t, world, { submission });
  const a = await loggedIn(taskA.submissions, 'limited@example.test', 'limited password');
  const b = await loggedIn(taskB.submissions, 'limited@example.test', 'limited password');
  t.after(() => { a.destroy(); b.destroy(); });
  assert.match(await a.command('MAIL FROM:<limited@example.test>'), /^250 /);
  assert.match(await a.command('RSET'), /^250 /);
  assert.match(await b.command('MAIL FROM:<limited@example.test>'), /^250 /);
  assert.match(await b.command('RSET'), /^250 /);
  const over = '451 4.7.1 Sending limit of 2 messages per hour reached, try again later';
  assert.equal(await a.command('MAIL FROM:<limited@example.test>'), over);
  assert.equal(await b.command('MAIL FROM:<limited@example.test>'), over);
  // another account is not affected
  await world.directory.addAccount('unlimited@example.test', 'unlimited password');
  const other = await loggedIn(taskA.submissions, 'unlimited@example.test', 'unlimited password');
  t.after(() => other.destroy());
  assert.match(await other.command('MAIL FROM:<unlimited@example.test>'), /^250 /);

  const counter = world.directory as DynamoDirectory;
  // the counter item went up with each attempt (2 accepted + 2 refused) and has a TTL
  assert.equal(await counter.countSubmission('limited@example.test', hourWindow(at)), 5);
});

test('login throttle: failures slow the next attempts, then the IP is refused with 454 4.7.0; the account is slowed from other IPs too', async (t) => {
  const baseDelayMs = 300;
  const edge = await startSubmissionEdge(t, world, {
    submission: { ...world.edgeOptions.submission!, authThrottle: { freeFailures: 1, baseDelayMs, maxDelayMs: 600, lockoutFailures: 4 } },
  });
  const { wire } = await SmtpWire.connectTls(edge.submissions);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  const attempt = async (password: string) => {
    const started = performance.now();
    const reply = await wire.command(`AUTH PLAIN ${plainToken('other@example.test', password)}`);
    return { reply, ms: performance.now() - started };
  };
  const first = await attempt('guess 1');
  const second = await attempt('guess 2');
  assert.equal(first.reply, '535 5.7.8 Authentication credentials invalid');
  assert.equal(second.reply, '535 5.7.8 Authentication credentials invalid');
  // one free failure; after the second, the next attempt waits baseDelayMs before the password is looked at
  const third = await attempt('guess 3');
  assert.equal(third.reply, '535 5.7.8 Authentication credentials invalid');
  // A lower bound only: the delay is the throttle's; how long the password check takes is the machine's.
  assert.ok(third.ms >= baseDelayMs - 20, `third attempt took ${third.ms} ms`);

  // from another IP, the attacked account is still slowed down, but not locked out
  const { wire: elsewhere } = await SmtpWire.connectTls(edge.submissions, { localAddress: '127.0.0.2' });
  t.after(() => elsewhere.destroy());
  await expectReply(elsewhere.command('EHLO other.client.test'), /^250 /m);
  const started = performance.now();
  assert.equal(await elsewhere.command(`AUTH PLAIN ${plainToken('other@example.test', 'other password')}`), '235 2.7.0 Authentication successful');
  assert.ok(performance.now() - started >= baseDelayMs * 2 - 20, 'the account throttle applies from another IP');

  // fourth failure from 127.0.0.1: locked out, even with the right password, without delay
  assert.equal((await attempt('guess 4')).reply, '535 5.7.8 Authentication credentials invalid');
  const locked = await attempt('other password');
  assert.equal(locked.reply, '454 4.7.0 Too many failed authentication attempts, try again later');
  const { wire: again } = await SmtpWire.connectTls(edge.submissions);
  t.after(() => again.destroy());
  await expectReply(again.command('EHLO client.test'), /^250 /m);
  assert.equal(await again.command(`AUTH PLAIN ${plainToken(DEMO.user, DEMO.password)}`), '454 4.7.0 Too many failed authentication attempts, try again later');
});

test('login throttle: 50 parallel wrong AUTHs, then the right one: each is counted before its check, so the IP is locked', async (t) => {
  const edge = await startSubmissionEdge(t, world, {
    submission: { ...world.edgeOptions.submission!, authThrottle: { freeFailures: 2, baseDelayMs: 10, maxDelayMs: 40, lockoutFailures: 10 } },
    limits: { maxConnectionsPerIp: 100 },
  });
  const wires = await Promise.all(Array.from({ length: 51 }, async () => (await SmtpWire.connectTls(edge.submissions)).wire));
  t.after(() => wires.forEach((w) => w.destroy()));
  await Promise.all(wires.map((w) => expectReply(w.command('EHLO client.test'), /^250 /m)));
  // All 51 AUTH commands are on the wire before any answer: the right password is the last one sent.
  const replies = await Promise.all(wires.map((w, i) => w.command(`AUTH PLAIN ${plainToken('other@example.test', i === 50 ? 'other password' : `guess ${i}`)}`)));
  assert.ok(!replies.some((r) => r.startsWith('235')), 'no attempt got through');
  assert.equal(replies.filter((r) => r.startsWith('535 5.7.8 ')).length, 10, 'the first ten were judged (and failed)');
  assert.equal(replies.at(-1), '454 4.7.0 Too many failed authentication attempts, try again later');
});

test('AUTH: login names that are not plain addresses are refused (535 5.7.8), though the URL parser would make them demo', async (t) => {
  const edge = await startSubmissionEdge(t, world);
  const { wire } = await SmtpWire.connectTls(edge.submissions);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  for (const name of ['demo@example.test/anything', 'demo@ex%61mple.test', 'demo@example.test:9#x', 'demo@example.test.']) {
    assert.equal(await wire.command(`AUTH PLAIN ${plainToken(name, DEMO.password)}`), '535 5.7.8 Authentication credentials invalid', name);
    assert.equal(await wire.command('AUTH LOGIN'), '334 VXNlcm5hbWU6');
    assert.equal(await wire.command(b64(name)), '334 UGFzc3dvcmQ6');
    assert.equal(await wire.command(b64(DEMO.password)), '535 5.7.8 Authentication credentials invalid', `LOGIN ${name}`);
  }
  assert.equal(await wire.command(`AUTH PLAIN ${plainToken('Demo@Example.TEST', DEMO.password)}`), '235 2.7.0 Authentication successful');
});
