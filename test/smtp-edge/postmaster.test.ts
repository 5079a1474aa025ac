// postmaster (RFC 5321 §4.5.1, §4.1.1.3): every local domain takes mail for postmaster, in any
// case, and `<Postmaster>` without a domain too; the message lands in the mailbox the directory's
// rule picks (an account or alias of that name, the domain's postmaster: set by an administrator,
// else its first account; then its catch-all). Driven through the edge on the wire, then filed by
// the inbound function.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileInbound } from '../../functions/inbound/file-inbound.ts';
import { inboundRig, type InboundRig } from '../functions/inbound/helpers.ts';
import { expectReply, inboundEvent, QUEUED, SmtpWire, startEdge, startEdgeWorld, type EdgeWorld } from './helpers.ts';

let world: EdgeWorld;
let rig: InboundRig;

before(async () => {
  world = await startEdgeWorld();
  rig = inboundRig(world.world);
  const { directory } = world;
  // example.test (from the world): demo@ was made first, so it is the postmaster; boss@ sorts
  // first but came later.
  await directory.addAccount('boss@example.test', 'boss password');
  // The edge's host name is mx.test.local: its parent test.local is where <Postmaster> goes.
  await directory.addDomain('test.local');
  await directory.addAccount('zed@test.local', 'zed password');
  await directory.addAccount('amy@test.local', 'amy password');
  // An explicit alias of that name wins over every rule.
  await directory.addDomain('named.test');
  await directory.addAccount('ann@named.test', 'ann password');
  await directory.addAccount('abe@named.test', 'abe password');
  await directory.addAlias('postmaster@named.test', ['ann@named.test']);
  // A domain without accounts, aliases or catch-all has nobody to give it to.
  await directory.addDomain('empty.test');
});
after(() => world?.close());

/** MAIL, the RCPTs (each must get `expected`), DATA: the queued id. */
async function send(port: number, rcpts: string[], subject: string): Promise<string> {
  const { wire } = await SmtpWire.connect(port);
  try {
    await expectReply(wire.command('EHLO client.test'), /^250 /m);
    assert.match(await wire.command('MAIL FROM:<reporter@remote.test>'), /^250 /);
    for (const rcpt of rcpts) assert.equal(await wire.command(`RCPT TO:<${rcpt}>`), '250 2.1.5 Accepted', rcpt);
    assert.match(await wire.command('DATA'), /^354 /);
    const reply = await wire.command(`From: reporter@remote.test\r\nSubject: ${subject}\r\n\r\nA report.\r\n.`);
    const id = QUEUED.exec(reply)?.[1];
    assert.ok(id, reply);
    await wire.command('QUIT');
    return id;
  } finally {
    wire.destroy();
  }
}

/** Files the message the edge queued as `id`; returns the accounts whose INBOX got it. */
async function fileAndFind(id: string): Promise<{ rcptTo: string[]; filedTo: string[] }> {
  const event = await inboundEvent(world.world, id);
  const outcome = await fileInbound(event, rig.deps);
  return { rcptTo: event.rcptTo, filedTo: outcome.filed.map((c) => c.account).sort() };
}

test('RCPT TO:<postmaster@…> of every local domain, in any case, is accepted; other unknown names still get 550', async (t) => {
  const edge = await startEdge(t, world);
  const { wire } = await SmtpWire.connect(edge.port);
  t.after(() => wire.destroy());
  await expectReply(wire.command('EHLO client.test'), /^250 /m);
  await expectReply(wire.command('MAIL FROM:<reporter@remote.test>'), /^250 /);
  for (const rcpt of ['postmaster@example.test', 'PostMaster@EXAMPLE.test', 'postmaster@catchall.test', 'POSTMASTER@test.local', 'postmaster@named.test', 'Postmaster']) {
    assert.equal(await wire.command(`RCPT TO:<${rcpt}>`), '250 2.1.5 Accepted', rcpt);
  }
  assert.equal(await wire.command('RCPT TO:<postmasters@example.test>'), '550 5.1.1 No such user here');
  assert.equal(await wire.command('RCPT TO:<postmaster@empty.test>'), '550 5.1.1 No such user here', 'nobody to give it to');
  assert.equal(await wire.command('RCPT TO:<postmaster@remote.test>'), '554 5.7.1 Relay access denied', 'not ours');
});

test('no setting: postmaster goes to the first account made in the domain; a domain without accounts to its catch-all', async (t) => {
  const edge = await startEdge(t, world);
  assert.deepEqual(await fileAndFind(await send(edge.port, ['PostMaster@example.test'], 'first account')), {
    rcptTo: ['PostMaster@example.test'], filedTo: ['demo@example.test'],
  });
  assert.deepEqual((await fileAndFind(await send(edge.port, ['postmaster@test.local'], 'first account'))).filedTo, ['zed@test.local']);
  assert.deepEqual((await fileAndFind(await send(edge.port, ['postmaster@catchall.test'], 'catch-all'))).filedTo, ['demo@example.test']);
  assert.deepEqual((await fileAndFind(await send(edge.port, ['postmaster@named.test'], 'alias'))).filedTo, ['ann@named.test'], 'an alias of that name wins');
});

test('the domain setting (mailctl domain postmaster) picks the mailbox; when its account is removed the oldest remaining one takes over', async (t) => {
  await world.directory.setPostmaster!('example.test', 'boss@example.test');
  await assert.rejects(world.directory.setPostmaster!('example.test', 'nobody@example.test'), /No local account or alias/);
  // A fresh edge each time: another's route cache would still hold the old answer for its TTL.
  const edge = await startEdge(t, world);
  assert.deepEqual((await fileAndFind(await send(edge.port, ['postmaster@example.test'], 'configured'))).filedTo, ['boss@example.test']);

  await world.directory.addAccount('temp@test.local', 'temp password');
  await world.directory.setPostmaster!('test.local', 'temp@test.local');
  await world.directory.removeAccount('temp@test.local');
  assert.equal((await world.directory.listDomains()).find((d) => d.name === 'test.local')?.postmaster, 'zed@test.local');
  const later = await startEdge(t, world);
  assert.deepEqual((await fileAndFind(await send(later.port, ['postmaster@test.local'], 'handed over'))).filedTo, ['zed@test.local']);
  await world.directory.setPostmaster!('example.test', null);
  assert.equal((await world.directory.listDomains()).find((d) => d.name === 'example.test')?.postmaster, 'demo@example.test', 'none: back to the oldest account');
});

test('RCPT TO:<Postmaster> without a domain (RFC 5321 §4.1.1.3): the postmaster of our host name\'s domain, named in full in the event', async (t) => {
  const edge = await startEdge(t, world);
  assert.deepEqual(await fileAndFind(await send(edge.port, ['Postmaster'], 'bare')), {
    rcptTo: ['postmaster@test.local'], filedTo: ['zed@test.local'],
  });
});
