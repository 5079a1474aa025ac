// The reverse path of our forwards (core/srs.ts): RCPT TO an SRS address of a local domain is
// accepted when its hash is ours and its timestamp current, and refused as an unknown user
// (RFC 5321 §3.3, 550 5.1.1) when forged, altered or expired, even where a catch-all would
// take any other name; the accepted address reaches the inbound event unchanged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SenderRewriting } from '../../core/srs.ts';
import { expectReply, inboundEvent, QUEUED, SmtpWire, startEdge, startEdgeWorld, type EdgeWorld } from './helpers.ts';

const SECRET = 'the edge test srs secret';
const DAY = 86_400_000;
let world: EdgeWorld;

before(async () => {
  world = await startEdgeWorld();
});
after(() => world?.close());

const srsAt = (now: Date, secret = SECRET) => new SenderRewriting({ secrets: [secret], now: () => now });

test('RCPT TO an SRS address: ours and current 250; tampered, foreign or expired 550 5.1.1', async (t) => {
  const edge = await startEdge(t, world, { srs: new SenderRewriting({ secrets: [SECRET] }) });
  const now = new Date();
  const valid = srsAt(now).forward('alice@orig.example', 'example.test');
  const onCatchAll = srsAt(now).forward('alice@orig.example', 'catchall.test');
  const [tag, hash, ...rest] = valid.split('=');
  const cases: Array<[string, RegExp]> = [
    [valid, /^250 /],
    [valid.toLowerCase(), /^250 /], // the scheme compares without regard to case
    [srsAt(new Date(now.getTime() - 21 * DAY)).forward('alice@orig.example', 'example.test'), /^250 /],
    [[tag, hash!.slice(0, -1) + (hash!.endsWith('A') ? 'B' : 'A'), ...rest].join('='), /^550 5\.1\.1 /],
    [valid.replace('orig.example', 'evil.example'), /^550 5\.1\.1 /],
    [srsAt(now, 'somebody else\'s srs secret').forward('alice@orig.example', 'example.test'), /^550 5\.1\.1 /],
    [srsAt(new Date(now.getTime() - 22 * DAY)).forward('alice@orig.example', 'example.test'), /^550 5\.1\.1 /],
    ['SRS0=garbage@example.test', /^550 5\.1\.1 /],
    // A catch-all takes any name, but not a forged bounce address.
    [onCatchAll, /^250 /],
    [onCatchAll.replace(/^SRS0=[^=]+=/, 'SRS0=AAAAAA='), /^550 5\.1\.1 /],
  ];
  const { wire } = await SmtpWire.connect(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO bounces.test'), /^250 /m);
  assert.match(await wire.command('MAIL FROM:<>'), /^250 /);
  for (const [rcpt, expected] of cases) assert.match(await wire.command(`RCPT TO:<${rcpt}>`), expected, rcpt);
  assert.match(await wire.command('DATA'), /^354 /);
  const id = QUEUED.exec(await wire.command('From: MAILER-DAEMON@bounces.test\r\nSubject: Undelivered\r\n\r\nA bounce.\r\n.'))?.[1];
  assert.ok(id);
  const event = await inboundEvent(world.world, id);
  assert.equal(event.rcptTo.length, 3, 'four accepted, one of them twice in another case');
  assert.ok(event.rcptTo.some((r) => r.toLowerCase() === valid.toLowerCase()), 'the SRS address goes to the inbound function as given; it reverses it');
});

test('without a configured secret an SRS-looking address is an ordinary name: unknown here 550, a catch-all takes it', async (t) => {
  const edge = await startEdge(t, world);
  const valid = srsAt(new Date()).forward('alice@orig.example', 'example.test');
  const { wire } = await SmtpWire.connect(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO bounces.test'), /^250 /m);
  assert.match(await wire.command('MAIL FROM:<>'), /^250 /);
  assert.match(await wire.command(`RCPT TO:<${valid}>`), /^550 5\.1\.1 /);
  assert.match(await wire.command(`RCPT TO:<${valid.replace('@example.test', '@catchall.test')}>`), /^250 /);
});
