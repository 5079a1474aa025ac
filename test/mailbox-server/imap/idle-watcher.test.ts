// The shared mailbox change watcher behind IDLE: one GetItem per watched mailbox per interval
// whatever the number of idling sessions, subscribers woken only on a change of uidNext or
// highestModSeq, and no polling once nobody watches (RFC 2177 IDLE; costs in DynamoDB requests).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLog } from '../../../core/log.ts';
import type { Mailbox } from '../../../core/store/types.ts';
import { MailboxPoller } from '../../../mailbox-server/imap/mailbox-poller.ts';
import { ALICE, BOB, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually, holdsFor, measurementWindow } from '../../helpers/eventually.ts';

/** A store whose mailbox item the test moves by hand; resolves `polled` waiters on each read. */
function fakeStore() {
  let mailbox: Mailbox | null = { account: 'a', id: 'm1', name: 'INBOX', uidValidity: 1, uidNext: 5, highestModSeq: 9, subscribed: true, specialUse: null };
  let reads = 0;
  let waiters: Array<{ at: number; resolve: () => void }> = [];
  return {
    get reads() {
      return reads;
    },
    set(next: Partial<Mailbox> | null) {
      mailbox = next === null ? null : { ...mailbox!, ...next };
    },
    /** Resolves once the store has been read `n` more times. */
    polls(n: number): Promise<void> {
      return new Promise((resolve) => waiters.push({ at: reads + n, resolve }));
    },
    async getMailboxById(_account: string, _id: string): Promise<Mailbox | null> {
      reads += 1;
      const due = waiters.filter((w) => w.at <= reads);
      waiters = waiters.filter((w) => w.at > reads);
      // After the read is answered, so the watcher has notified before the test looks.
      setImmediate(() => due.forEach((w) => w.resolve()));
      return mailbox;
    },
  };
}


describe('MailboxPoller', () => {
  test('three subscribers share one read per tick and are woken only when a counter moves', async (t) => {
    const store = fakeStore();
    const watcher = new MailboxPoller(store, 10, silentLog);
    t.after(() => watcher.close());
    const woken = [0, 0, 0];
    const watches = woken.map((_, i) => watcher.subscribe('a', 'm1', { uidNext: 5, highestModSeq: 9 }, () => (woken[i] = woken[i]! + 1)));
    assert.equal(watcher.watchedMailboxes, 1);
    await store.polls(3);
    assert.equal(store.reads, 3, 'one read per tick, not one per subscriber');
    assert.deepEqual(woken, [0, 0, 0], 'nothing changed, nobody woken');

    store.set({ uidNext: 6, highestModSeq: 10 });
    await store.polls(1);
    assert.deepEqual(woken, [1, 1, 1]);
    await store.polls(2);
    assert.deepEqual(woken, [1, 1, 1], 'a change wakes each subscriber once');

    // A view still settling asks to be woken at the next tick even with counters unchanged.
    watches[0]!.reflects(undefined);
    await store.polls(1);
    assert.deepEqual(woken, [2, 1, 1]);
    // A subscriber whose own resync read newer counters than the poll is not woken for them again.
    watches[1]!.reflects({ uidNext: 7, highestModSeq: 12 });
    store.set({ uidNext: 7, highestModSeq: 12 });
    await store.polls(1);
    assert.deepEqual(woken, [3, 1, 2]);

    for (const w of watches) w.unsubscribe();
    assert.equal(watcher.watchedMailboxes, 0);
    const reads = store.reads;
    await holdsFor(() => store.reads === reads, 'no polling of a mailbox nobody watches (6 ticks)', 60);
  });

  test('a subscriber behind the counters, or with none, is woken at the first tick; a deletion wakes it once', async (t) => {
    const store = fakeStore();
    const watcher = new MailboxPoller(store, 10, silentLog);
    t.after(() => watcher.close());
    const seen: Array<[string, Mailbox | null]> = [];
    watcher.subscribe('a', 'm1', { uidNext: 4, highestModSeq: 9 }, (m) => seen.push(['behind', m]));
    watcher.subscribe('a', 'm1', undefined, (m) => seen.push(['settling', m]));
    watcher.subscribe('a', 'm1', { uidNext: 5, highestModSeq: 9 }, (m) => seen.push(['current', m]));
    await store.polls(1);
    assert.deepEqual(seen.map(([who, m]) => [who, m?.uidNext]), [['behind', 5], ['settling', 5]]);
    seen.length = 0;
    store.set(null);
    await store.polls(2);
    assert.deepEqual(seen, [['behind', null], ['settling', null], ['current', null]]);
  });

  test('close() stops every timer and refuses new subscriptions', async () => {
    const store = fakeStore();
    const watcher = new MailboxPoller(store, 10, silentLog);
    watcher.subscribe('a', 'm1', undefined, () => undefined);
    watcher.subscribe('a', 'm2', undefined, () => undefined);
    assert.equal(watcher.watchedMailboxes, 2);
    watcher.close();
    assert.equal(watcher.watchedMailboxes, 0);
    const reads = store.reads;
    await holdsFor(() => store.reads === reads, 'no polling after close (5 ticks)', 50);
    assert.throws(() => watcher.subscribe('a', 'm1', undefined, () => undefined));
  });
});

describe('IMAP IDLE through the shared watcher', () => {
  let w: ImapWorld;
  before(async () => {
    // Test servers poll every 200 ms (helpers/imap-world.ts).
    w = await startImapWorld();
    await w.deliver(ALICE.user, sampleMessage('first'));
  });
  after(async () => {
    await w?.close();
  });

  const until = (what: string, ok: () => boolean) => eventually(ok, what);
  const getItems = () => w.world.counter.counts.get('DynamoDB.GetItem') ?? 0;

  test('six sessions idling on one INBOX cost one GetItem per tick; DONE everywhere stops the polling', async (t) => {
    const sessions: RawImap[] = [];
    t.after(() => sessions.forEach((s) => s.close()));
    for (let i = 0; i < 6; i++) {
      const s = await RawImap.connect(w.port);
      sessions.push(s);
      await s.line();
      await s.login(ALICE.user, ALICE.password);
      await s.command('SELECT INBOX', 'sel');
      s.write('i IDLE\r\n');
      assert.equal(await s.line(), '+ idling');
    }
    await until('one watched mailbox', () => w.server.watchedMailboxes === 1);

    w.world.counter.counts.clear();
    await measurementWindow(1000);
    const perSecond = getItems();
    // 1000 ms / 200 ms = 5 ticks (fewer when a loaded machine delays the timer; a tick never
    // overlaps the previous read); per-session polling would have cost 30.
    assert.ok(perSecond >= 1 && perSecond <= 7, `GetItem in 1 s with 6 idlers: ${perSecond}`);

    const started = Date.now();
    await w.deliver(ALICE.user, sampleMessage('wake all'));
    for (const s of sessions) assert.equal(await s.line(2000), '* 2 EXISTS');
    assert.ok(Date.now() - started < 2000, 'every idler sees the delivery within 2 s');

    for (const s of sessions) s.write('DONE\r\n');
    const recent: string[] = [];
    for (const s of sessions) for (let line = await s.line(); line !== 'i OK IDLE terminated'; line = await s.line()) recent.push(line!);
    assert.equal(recent.length, 1, `one session, the first to claim it, has the new message \\Recent: ${recent.join(' | ')}`);
    assert.match(recent[0]!, /^\* [12] RECENT$/);
    assert.equal(w.server.watchedMailboxes, 0);
    w.world.counter.counts.clear();
    await holdsFor(() => getItems() === 0, 'nobody idles, nothing is polled (3 ticks)', 600);
  });

  test('each mailbox is watched once; a session that disconnects while idling unsubscribes', async (t) => {
    const alice1 = await RawImap.connect(w.port);
    const alice2 = await RawImap.connect(w.port);
    const bob = await RawImap.connect(w.port);
    t.after(() => [alice1, alice2, bob].forEach((s) => s.close()));
    for (const [s, who] of [[alice1, ALICE], [alice2, ALICE], [bob, BOB]] as const) {
      await s.line();
      await s.login(who.user, who.password);
      await s.command('SELECT INBOX', 'sel');
      s.write('i IDLE\r\n');
      assert.equal(await s.line(), '+ idling');
    }
    await until('two watched mailboxes', () => w.server.watchedMailboxes === 2);
    alice1.close();
    bob.close();
    await until('bob unwatched', () => w.server.watchedMailboxes === 1);
    // The remaining idler still wakes.
    await w.deliver(ALICE.user, sampleMessage('still watched'));
    assert.match((await alice2.line(2000)) ?? '', /^\* \d+ EXISTS$/);
    alice2.close();
    await until('nothing watched', () => w.server.watchedMailboxes === 0);
  });
});
