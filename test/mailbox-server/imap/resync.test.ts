// The incremental resynchronisation of a selected mailbox (mailbox-server/imap/mailbox-view.ts)
// against the real store, with the byModSeq index made to lag by a wrapper: nothing is missed,
// nothing is announced twice, and a settled view costs one GetItem per sync.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, type DynamoMailStore, type MessageStore, type Store } from '../../../core/store/index.ts';
import { MailboxView, type ViewClock } from '../../../mailbox-server/imap/mailbox-view.ts';
import { SharedMailbox } from '../../../mailbox-server/mailbox-states.ts';
import type { Mailbox } from '../../../core/store/types.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { fileRequest } from '../../core/store/fixtures.ts';

/** A view over states of its own, as MailboxStates gives a session when it shares none, on a test clock. */
async function openView(store: MessageStore, mailbox: Mailbox, readOnly: boolean, clock: ViewClock = {}): Promise<MailboxView> {
  const [states, recent] = await Promise.all([store.listMessageStates(mailbox.id, mailbox.uidNext), MailboxView.recentAtOpen(store, mailbox, readOnly)]);
  const shared = new SharedMailbox(mailbox, states, clock, { generation: 0 });
  shared.reserve();
  return MailboxView.attach(shared, mailbox, readOnly, recent);
}

/** The store as a session sees it, with an index that has not yet caught up on `hidden` modseqs. */
function laggingIndex(store: DynamoMailStore) {
  const hidden = new Set<number>();
  const calls = { getMailboxById: 0, listStateChanges: 0, listMessageStates: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop) {
      // \Recent claims (test/mailbox-server/imap/recent.test.ts) are not what these tests watch: without them no
      // message is recent and the responses are only the resync's.
      if (prop === 'claimRecent') return undefined;
      if (prop === 'listStateChanges') {
        return async (mailboxId: string, since: number) => {
          calls.listStateChanges += 1;
          return (await target.listStateChanges(mailboxId, since)).filter((s) => !hidden.has(s.modSeq));
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop in calls) calls[prop as keyof typeof calls] += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as MessageStore;
  return { store: wrapped, hidden, calls, reset: () => Object.keys(calls).forEach((k) => (calls[k as keyof typeof calls] = 0)) };
}

const text = (responses: Buffer[]) => responses.map((b) => b.toString('latin1').trimEnd());
const sync = { allowExpunge: true, condstore: false };

let world: TestWorld;
let store: Store;
const account = 'resync@example.test';

before(async () => {
  world = await startTestWorld();
  store = createStore(world.clients, world.config.resources);
  await store.directory.addDomain('example.test');
  await store.directory.addAccount(account, 'pw');
});
after(() => world?.close());

async function mailboxWith(name: string, messages: number) {
  const mailbox = await store.mailStore.createMailbox(account, name);
  for (let i = 1; i <= messages; i++) await store.mailStore.fileMessage(fileRequest(account, `${name}-${i}`, { mailbox: name }));
  return (await store.mailStore.getMailbox(account, name))!;
}

test('a flag change the index has not caught up on is announced once it appears, exactly once', async () => {
  const mailbox = await mailboxWith('Lag1', 3);
  const lag = laggingIndex(store.mailStore);
  let now = 0;
  const view = await openView(lag.store, mailbox, false, { now: () => now, settleMs: 3000 });
  assert.equal(view.settledModSeq, mailbox.highestModSeq, 'deliveries only: every modseq seen at SELECT');

  const { updated } = await store.mailStore.setFlags(account, mailbox.id, [2], { op: 'add', flags: ['\\Flagged'] });
  lag.hidden.add(updated[0]!.modSeq);
  now = 1000;
  assert.deepEqual(text(await view.sync(lag.store, sync)), [], 'not in the index yet');
  assert.ok(view.settledModSeq < updated[0]!.modSeq, 'the watermark waits below the missing modseq');
  now = 2000;
  lag.hidden.clear();
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 2 FETCH (FLAGS (\\Flagged) UID 2)']);
  assert.equal(view.settledModSeq, updated[0]!.modSeq, 'every modseq seen: settled at once');

  lag.reset();
  assert.deepEqual(text(await view.sync(lag.store, sync)), [], 'not announced twice');
  assert.deepEqual(lag.calls, { getMailboxById: 1, listStateChanges: 0, listMessageStates: 0 }, 'settled: one GetItem');
});

test('new messages are announced in UID order even when the index lags behind them (consistent read of new UIDs)', async () => {
  const mailbox = await mailboxWith('Lag2', 2);
  const lag = laggingIndex(store.mailStore);
  const view = await openView(lag.store, mailbox, false, { now: () => 0 });
  for (let i = 3; i <= 4; i++) await store.mailStore.fileMessage(fileRequest(account, `Lag2-${i}`, { mailbox: 'Lag2' }));
  const changes = await store.mailStore.listStateChanges(mailbox.id, mailbox.highestModSeq);
  for (const c of changes) lag.hidden.add(c.modSeq);
  lag.reset();
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 4 EXISTS']);
  assert.deepEqual(view.allUids(), [1, 2, 3, 4]);
  assert.equal(lag.calls.listMessageStates, 1, 'one Query of the new UIDs');
});

test('an expunge hidden by the lag is announced later; a superseded modseq settles only after the settle time', async () => {
  const mailbox = await mailboxWith('Lag3', 3);
  const lag = laggingIndex(store.mailStore);
  let now = 0;
  const view = await openView(lag.store, mailbox, false, { now: () => now, settleMs: 3000 });

  // Expunged, but the index does not show the tombstone yet.
  await store.mailStore.expunge(account, mailbox.id, [1]);
  const tombstone = (await store.mailStore.listStateChanges(mailbox.id, mailbox.highestModSeq)).find((s) => s.uid === 1)!;
  lag.hidden.add(tombstone.modSeq);
  assert.deepEqual(text(await view.sync(lag.store, sync)), []);
  lag.hidden.clear();
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 1 EXPUNGE']);
  assert.deepEqual(view.allUids(), [2, 3]);

  // Two changes to one message: the first modseq is overwritten and never shows in the index, so
  // the watermark cannot pass it by counting; it passes once a query was sent after the settle time.
  now = 10_000;
  const first = await store.mailStore.setFlags(account, mailbox.id, [3], { op: 'add', flags: ['$A'] });
  const second = await store.mailStore.setFlags(account, mailbox.id, [3], { op: 'add', flags: ['$B'] });
  // $A and $B are new to the session: announced before the FETCH that shows them (RFC 3501 §7.2.6).
  assert.deepEqual(text(await view.sync(lag.store, sync)), [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $A $B)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $A $B \\*)] Flags permitted',
    '* 2 FETCH (FLAGS ($A $B) UID 3)',
  ]);
  assert.ok(view.settledModSeq < first.updated[0]!.modSeq, 'a hole at the overwritten modseq');
  now = 12_000;
  lag.reset();
  assert.deepEqual(text(await view.sync(lag.store, sync)), []);
  assert.equal(lag.calls.listStateChanges, 1, 'still asking while the hole may fill');
  now = 13_000;
  await view.sync(lag.store, sync);
  assert.equal(view.settledModSeq, second.updated[0]!.modSeq, 'settled after 3 s');
  lag.reset();
  await view.sync(lag.store, sync);
  assert.deepEqual(lag.calls, { getMailboxById: 1, listStateChanges: 0, listMessageStates: 0 });
});

test('a change landing late, inside the settle time, below a modseq already seen, is not missed', async () => {
  const mailbox = await mailboxWith('Lag4', 2);
  const lag = laggingIndex(store.mailStore);
  let now = 0;
  const view = await openView(lag.store, mailbox, false, { now: () => now, settleMs: 3000 });
  // Writer A takes modseq M and stalls (hidden: not yet written); writer B takes M+1 and lands.
  const a = await store.mailStore.setFlags(account, mailbox.id, [1], { op: 'add', flags: ['\\Seen'] });
  lag.hidden.add(a.updated[0]!.modSeq);
  await store.mailStore.setFlags(account, mailbox.id, [2], { op: 'add', flags: ['\\Answered'] });
  now = 500;
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 2 FETCH (FLAGS (\\Answered) UID 2)']);
  now = 2500;
  lag.hidden.clear();
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 1 FETCH (FLAGS (\\Seen) UID 1)']);
});

test('the mailbox deleted under the session reads as every message expunged', async () => {
  const mailbox = await mailboxWith('Gone', 2);
  const view = await openView(store.mailStore, mailbox, false);
  await store.mailStore.deleteMailbox(account, 'Gone');
  assert.deepEqual(text(await view.sync(store.mailStore, sync)), ['* 2 EXPUNGE', '* 1 EXPUNGE']);
});

test('new messages have no index entry yet settle the view at once; a first flag change on one is seen by another session', async () => {
  const mailbox = await mailboxWith('Sparse', 2);
  const lag = laggingIndex(store.mailStore);
  const view = await openView(lag.store, mailbox, false, { now: () => 0 });
  assert.deepEqual(await store.mailStore.listStateChanges(mailbox.id, 0), [], 'filing writes no byModSeq entry');

  // Another session flags a message never changed since it was filed: that change is indexed.
  const flagged = await store.mailStore.setFlags(account, mailbox.id, [1], { op: 'add', flags: ['\\Flagged'] });
  assert.deepEqual((await store.mailStore.listStateChanges(mailbox.id, 0)).map((s) => [s.uid, s.modSeq]), [[1, flagged.updated[0]!.modSeq]]);
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 1 FETCH (FLAGS (\\Flagged) UID 1)']);

  // A new message: read by UID range; its modseq, seen there, lets the watermark pass it at once.
  await store.mailStore.fileMessage(fileRequest(account, 'Sparse-3', { mailbox: 'Sparse' }));
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 3 EXISTS']);
  assert.equal(view.settledModSeq, (await store.mailStore.getMailbox(account, 'Sparse'))!.highestModSeq);
  lag.reset();
  assert.deepEqual(text(await view.sync(lag.store, sync)), []);
  assert.deepEqual(lag.calls, { getMailboxById: 1, listStateChanges: 0, listMessageStates: 0 }, 'settled: one GetItem');

  // And its first flag change, made elsewhere, reaches this session through the index.
  await store.mailStore.setFlags(account, mailbox.id, [3], { op: 'add', flags: ['\\Seen'] });
  assert.deepEqual(text(await view.sync(lag.store, sync)), ['* 3 FETCH (FLAGS (\\Seen) UID 3)']);
});
