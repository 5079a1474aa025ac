// A mailbox of a few thousand messages (seeded with BatchWriteItem): SELECT is one paginated
// projection Query (no per-message reads), SEARCH on flags/UIDs/sizes/dates is answered from the
// states (no item, no blob), and a resync after one change reads that change, not the mailbox.
// The 10,000-message case is in bench/mailbox.ts; SEARCH answers on 10,000 are checked against a
// model in search-10k.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { indexMessage } from '../../../core/mime/index.ts';
import { ALICE, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { seedMailbox } from './helpers/seed.ts';

const COUNT = 3000;
const raw = Buffer.from('From: a@remote.test\r\nTo: alice@example.test\r\nSubject: seeded\r\n\r\nbody\r\n');
const sizeOf = (i: number) => 1000 + (i % 50) * 100;
const flagsOf = (i: number) => [...(i % 3 === 0 ? ['\\Seen'] : []), ...(i % 7 === 0 ? ['\\Flagged'] : [])];
const dayOf = (i: number) => 1 + (i % 30);

let w: ImapWorld;
before(async () => {
  w = await startImapWorld();
  const mailbox = await w.store.mailStore.createMailbox(ALICE.user, 'Big');
  await w.blobs.put('raw/seed/one.eml', raw);
  const index = indexMessage(raw);
  await seedMailbox(w.world.clients.doc, w.world.config.resources.tables, mailbox, COUNT, (i) => ({
    blobKey: 'raw/seed/one.eml',
    size: sizeOf(i),
    index,
    flags: flagsOf(i),
    internalDate: `2026-01-${String(dayOf(i)).padStart(2, '0')}T12:00:00.000Z`,
  }));
});
after(() => w?.close());

function requestsDuring<T>(run: () => Promise<T>): Promise<{ result: T; counts: Record<string, number> }> {
  w.world.counter.counts.clear();
  return run().then((result) => ({ result, counts: w.world.counter.snapshot() }));
}

test(`SELECT of ${COUNT} messages: one paginated projection Query, no per-message reads`, async (t) => {
  const c = await RawImap.connect(w.port);
  t.after(() => c.close());
  await c.line();
  await c.login(ALICE.user, ALICE.password);
  const started = performance.now();
  const { result: lines, counts } = await requestsDuring(() => c.command('SELECT Big', 's'));
  const ms = performance.now() - started;
  assert.ok(lines.includes(`* ${COUNT} EXISTS`), lines.join('\n'));
  assert.ok(lines.includes('* OK [UIDNEXT 3001] Predicted next UID'));
  assert.ok(lines.includes('* OK [UNSEEN 2] First unseen'));
  assert.equal(counts['DynamoDB.BatchGetItem'] ?? 0, 0);
  assert.ok((counts['DynamoDB.GetItem'] ?? 0) <= 4, JSON.stringify(counts));
  // The 1 MB page limit counts whole items (MIME index included), so a few pages, never thousands.
  assert.ok((counts['DynamoDB.Query'] ?? 0) <= 12, JSON.stringify(counts));
  t.diagnostic(`SELECT ${COUNT}: ${ms.toFixed(0)} ms, ${JSON.stringify(counts)}`);

  // SEARCH on flags, UIDs, sizes and dates: from the states alone.
  const search = await requestsDuring(() => c.command('UID SEARCH UID 100:2500 FLAGGED NOT SEEN LARGER 3000 SINCE 10-Jan-2026 BEFORE 25-Jan-2026'));
  const expected: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const uid = i + 1;
    const flags = flagsOf(i);
    if (uid >= 100 && uid <= 2500 && flags.includes('\\Flagged') && !flags.includes('\\Seen') && sizeOf(i) > 3000 && dayOf(i) >= 10 && dayOf(i) < 25) expected.push(uid);
  }
  assert.ok(expected.length > 10);
  assert.equal(search.result[0], `* SEARCH ${expected.join(' ')}`);
  assert.deepEqual(Object.keys(search.counts), ['DynamoDB.GetItem'], 'only the resync GetItem: no item, no blob');

  // Another session changes one message: the next resync reads that change, not the mailbox.
  await w.store.mailStore.setFlags(ALICE.user, (await w.store.mailStore.getMailbox(ALICE.user, 'Big'))!.id, [7], { op: 'add', flags: ['$Seen7'] });
  const noop = await requestsDuring(() => c.command('NOOP'));
  // The session's SELECT claimed the mailbox's messages as \Recent (RFC 3501 §2.3.2), so they show it.
  assert.ok(noop.result.includes('* 7 FETCH (FLAGS (\\Seen \\Recent $Seen7) UID 7)'), noop.result.join('\n'));
  assert.deepEqual(noop.counts, { 'DynamoDB.GetItem': 1, 'DynamoDB.Query': 1 });
});
