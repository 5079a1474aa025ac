// RCPT against quotas: an account with no room left gets 452 4.2.2 on MX and submission; an
// alias is refused only when every target is full; no quota is no limit; one read per TTL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, type Store } from '../../core/store/index.ts';
import { fileRequest } from '../core/store/fixtures.ts';
import { DEMO, plainToken, SmtpWire, startEdge, startEdgeWorld, startSubmissionEdge, type EdgeWorld } from './helpers.ts';

let world: EdgeWorld;
let store: Store;

before(async () => {
  world = await startEdgeWorld();
  store = createStore(world.world.clients, world.world.config.resources);
  // demo has 500 bytes filed; roomy has plenty of room; both behind the alias team@
  await store.mailStore.fileMessage(fileRequest(DEMO.user, 'seed-demo', { size: 500 }));
  await store.directory.addAccount('roomy@example.test', 'roomy-password');
  await store.directory.setQuota('roomy@example.test', 1_000_000);
  await store.directory.addAlias('team@example.test', [DEMO.user, 'roomy@example.test']);
});
after(async () => {
  await world?.close();
});

/** EHLO, MAIL FROM (with SIZE when given), then the replies to each RCPT. */
async function rcptReplies(port: number, recipients: string[], size?: number): Promise<string[]> {
  const { wire } = await SmtpWire.connect(port);
  try {
    assert.match(await wire.command('EHLO client.test'), /^250/m);
    assert.match(await wire.command(`MAIL FROM:<sender@remote.test>${size ? ` SIZE=${size}` : ''}`), /^250/);
    const replies: string[] = [];
    for (const r of recipients) replies.push(await wire.command(`RCPT TO:<${r}>`));
    return replies;
  } finally {
    wire.socket.destroy();
  }
}

test('MX: a full account and an alias of only full accounts get 452 4.2.2; room anywhere is accepted', async (t) => {
  await store.directory.setQuota(DEMO.user, 500);
  t.after(() => store.directory.setQuota(DEMO.user, null));
  const edge = await startEdge(t, world, { limits: { recipientCacheTtlMs: 0 } });
  const [demo, sales, team, roomy] = await rcptReplies(edge.port, [DEMO.user, 'sales@example.test', 'team@example.test', 'roomy@example.test']);
  assert.match(demo!, /^452 4\.2\.2 /);
  assert.match(sales!, /^452 4\.2\.2 /, 'sales is an alias of demo alone');
  assert.match(team!, /^250 /, 'team also reaches roomy');
  assert.match(roomy!, /^250 /);

  // one byte of room left: accepted without SIZE, refused when SIZE says the message will not fit
  await store.directory.setQuota(DEMO.user, 501);
  assert.match((await rcptReplies(edge.port, [DEMO.user]))[0]!, /^250 /);
  assert.match((await rcptReplies(edge.port, [DEMO.user], 2000))[0]!, /^452 4\.2\.2 /);

  // quota none: no limit
  await store.directory.setQuota(DEMO.user, null);
  assert.match((await rcptReplies(edge.port, [DEMO.user], 10_000_000))[0]!, /^250 /);
});

test('submission: a local recipient over quota gets 452 4.2.2 too', async (t) => {
  await store.directory.setQuota(DEMO.user, 100);
  t.after(() => store.directory.setQuota(DEMO.user, null));
  const edge = await startSubmissionEdge(t, world, { limits: { recipientCacheTtlMs: 0 } });
  const { wire } = await SmtpWire.connectTls(edge.submissions);
  try {
    assert.match(await wire.command('EHLO client.test'), /^250/m);
    assert.match(await wire.command(`AUTH PLAIN ${plainToken('roomy@example.test', 'roomy-password')}`), /^235/);
    assert.match(await wire.command('MAIL FROM:<roomy@example.test>'), /^250/);
    assert.match(await wire.command(`RCPT TO:<${DEMO.user}>`), /^452 4\.2\.2 /);
    assert.match(await wire.command('RCPT TO:<someone@remote.test>'), /^250/);
  } finally {
    wire.socket.destroy();
  }
});

test('a flood of RCPTs to one account reads its quota once per cache TTL', async (t) => {
  await store.directory.setQuota(DEMO.user, 500);
  t.after(() => store.directory.setQuota(DEMO.user, null));
  let reads = 0;
  const directory = world.edgeOptions.directory;
  const counting = Object.create(directory) as typeof directory;
  counting.quotaUsage = (address: string) => {
    reads++;
    return directory.quotaUsage!(address);
  };
  const edge = await startEdge(t, world, { directory: counting, limits: { recipientCacheTtlMs: 60_000 } });
  const replies = await rcptReplies(edge.port, Array.from({ length: 5 }, () => DEMO.user));
  for (const r of replies) assert.match(r, /^452 4\.2\.2 /);
  assert.equal(reads, 1);
});
