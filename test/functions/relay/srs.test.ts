// Sender rewriting on the emulators: an alias forward of internet mail reaches the remote MX with
// an SRS0 envelope sender of the forwarding domain (core/srs.ts), and when the remote MX refuses
// it, the bounce to that SRS address is forwarded back to the original sender, with the null
// reverse-path (RFC 5321 §4.5.5). Inbound and relay run through the real queues.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestWorld } from '../../helpers/emulators.ts';
import { storedEvent } from '../inbound/helpers.ts';
import type { QueueSender } from '../../../core/queues.ts';
import { SenderRewriting } from '../../../core/srs.ts';
import { eventually, type FakeMx, outgoingMessage, type RelayRig, type RunningRelay, startRunningRelay } from './helpers.ts';

let world: TestWorld;
let mx: FakeMx;
let rig: RelayRig;
let queues: QueueSender;
const srs = new SenderRewriting({ secrets: ['srs secret of the test stack'] });

let running: RunningRelay;

before(async () => {
  running = await startRunningRelay({ srs });
  ({ world, mx, rig, queues } = running);
});

after(() => running?.close());

const hex = () => randomBytes(4).toString('hex');

/** Internet mail from `sender` to `rcpt`, as the MX edge queues it (no authenticated user). */
async function fromInternet(sender: string, rcpt: string, subject: string) {
  const event = await storedEvent(rig.blobs, outgoingMessage(sender, rcpt, subject), [rcpt], { mailFrom: sender, authenticatedUser: null, receivedAt: new Date().toISOString() });
  await queues.sendInbound(world.config.resources.queues.inbound, event);
}

test('an alias forward leaves with MAIL FROM SRS0=HHH=TT=<sender domain>=<sender local>@<alias domain>', async () => {
  const local = `l${hex()}.test`;
  const target = `t${hex()}.test`;
  const origin = `o${hex()}.test`;
  await rig.store.directory.addDomain(local);
  await rig.store.directory.addAlias(`fwd@${local}`, [`out@${target}`]);
  await fromInternet(`someone@${origin}`, `fwd@${local}`, 'Forward me');
  await eventually(() => mx.to(target).length === 1, 'the forward reached the target MX');
  const [received] = mx.to(target);
  assert.match(received!.mailFrom, new RegExp(`^SRS0=[A-Za-z0-9+/]{6}=[A-Z2-7]{2}=${origin.replace(/\./g, '\\.')}=someone@${local.replace(/\./g, '\\.')}$`));
  assert.deepEqual(srs.reverse(received!.mailFrom.split('@')[0]!), { kind: 'original', address: `someone@${origin}` });
});

test('a forward the target refuses: the bounce goes to the SRS address and from there back to the original sender', async () => {
  const local = `l${hex()}.test`;
  const target = `t${hex()}.test`;
  const origin = `o${hex()}.test`;
  await rig.store.directory.addDomain(local);
  await rig.store.directory.addAlias(`fwd@${local}`, [`gone@${target}`]);
  mx.scripts.set(target, { rcpt: () => '550 5.1.1 No such user' });
  await fromInternet(`someone@${origin}`, `fwd@${local}`, 'Bounce me');
  await eventually(() => mx.to(origin).length === 1, 'the DSN reached the original sender\'s MX', 20_000);
  const [dsn] = mx.to(origin);
  assert.equal(dsn!.mailFrom, '', 'a DSN has the null reverse-path (RFC 3464 §2, RFC 5321 §4.5.5)');
  assert.deepEqual(dsn!.rcptTo, [`someone@${origin}`]);
  const text = dsn!.raw.toString('latin1');
  assert.match(text, /Content-Type: multipart\/report; report-type=delivery-status/i);
  assert.match(text, new RegExp(`Final-Recipient: rfc822; ?gone@${target.replace(/\./g, '\\.')}`, 'i'));
  assert.match(text, /Status: 5\.1\.1/);
  assert.equal(mx.to(target).length, 0, 'the refused forward was not delivered');
  // It was made for the forward's envelope sender, the SRS address, and came back through it.
  assert.match(text, new RegExp(`^To: <?SRS0=[^=]+=[A-Z2-7]{2}=${origin.replace(/\./g, '\\.')}=someone@${local.replace(/\./g, '\\.')}>?\r?$`, 'm'));
  assert.ok(rig.telemetry.logs.some((l) => l.message === 'delivery status notification sent' && l.fields.local === true), 'the DSN went to a local (SRS) address first');
});

test('mail to a forged or expired SRS address of ours is not forwarded anywhere', async () => {
  const local = `l${hex()}.test`;
  const origin = `o${hex()}.test`;
  await rig.store.directory.addDomain(local);
  const old = new SenderRewriting({ secrets: ['srs secret of the test stack'], now: () => new Date(Date.now() - 30 * 86_400_000) });
  const expired = old.forward(`someone@${origin}`, local);
  const forged = `SRS0=AAAAAA=${expired.split('=')[2]}=${origin}=someone@${local}`;
  for (const rcpt of [expired, forged]) await fromInternet(`spammer@elsewhere.test`, rcpt, 'Backscatter');
  await rig.drained();
  assert.equal(mx.to(origin).length, 0);
});
