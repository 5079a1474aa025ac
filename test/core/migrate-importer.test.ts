// The importer against a source that misbehaves on purpose: one that will not deliver a
// message, one that dies in the middle of a FETCH, and messages larger than the memory budget,
// filed into the real store on the emulators.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { createStore, type Store } from '../../core/store/index.ts';
import { ImportProgressStore } from '../../core/store/import-progress.ts';
import { importMessages, type ImportTarget } from '../../core/migrate/importer.ts';
import { SourceError, type MessageSource, type SourceMessage } from '../../core/migrate/source.ts';

let world: TestWorld;
let store: Store;

before(async () => {
  world = await startTestWorld();
  store = createStore(world.clients, world.config.resources);
  await store.directory.addDomain('fake.test');
});
after(async () => {
  await world?.close();
});

const RULES = { include: [], exclude: [], map: new Map() };

function messageOf(uid: number, size = 200): SourceMessage {
  const head = `Subject: ${uid}\r\nMessage-ID: <${uid}@fake.test>\r\n\r\n`;
  return { uid, raw: Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - 2)) + '\r\n'), flags: ['\\Seen'], internalDate: new Date(Date.UTC(2020, 0, uid)) };
}

interface Misbehaviour {
  /** UIDs the source leaves out of its FETCH answers (as a server does for a message it cannot read). */
  readonly withhold?: ReadonlySet<number>;
  /** UIDs the source answers NO for: the FETCH that asks for one sends the others, then fails (RFC 3501 §7.1.2). */
  readonly refuse?: ReadonlySet<number>;
  /** The connection dies after this many messages were sent in this run. */
  readonly dieAfter?: number;
}

/** One folder, INBOX, holding `messages`; misbehaves as told. */
function fakeSource(messages: SourceMessage[], how: Misbehaviour = {}): MessageSource {
  let sent = 0;
  return {
    id: 'fake:source',
    async folders() {
      return [{ path: 'INBOX', delimiter: '/', attributes: new Set() }];
    },
    async open() {
      return {
        uidValidity: '7',
        async sizes(after, also) {
          return messages.filter((m) => m.uid > after || also.includes(m.uid)).map((m) => ({ uid: m.uid, size: m.raw.length }));
        },
        async fingerprints() {
          return [];
        },
        async *fetch(uids) {
          for (const m of messages) {
            if (!uids.includes(m.uid) || how.withhold?.has(m.uid) || how.refuse?.has(m.uid)) continue;
            if (how.dieAfter !== undefined && sent >= how.dieAfter) throw new Error('Connection closed');
            sent++;
            yield m;
          }
          if (uids.some((uid) => how.refuse?.has(uid))) throw new SourceError('FETCH in INBOX failed: Message is corrupted', true);
        },
        async close() {},
      };
    },
    async close() {},
  };
}

/** A target whose blob store counts the bytes being uploaded at once. */
function targetFor(peak: { now: number; max: number } = { now: 0, max: 0 }): ImportTarget {
  const blobs = new Map<string, Buffer>();
  return {
    mailStore: store.mailStore,
    blobs: {
      async put(key, body) {
        peak.now += body.length;
        peak.max = Math.max(peak.max, peak.now);
        await new Promise((resolve) => setImmediate(resolve));
        blobs.set(key, body);
        peak.now -= body.length;
      },
    },
    progress: new ImportProgressStore(world.clients.doc, world.config.resources.tables.mailboxes),
    quotaUsage: (account) => store.directory.quotaUsage(account),
  };
}

const uidsIn = async (account: string) => (await store.mailStore.listMessages(account, 'INBOX')).map((m) => Number(m.index.envelope.subject));

test('a message the source will not deliver is reported with its reason, and retried by the next run', async () => {
  await store.directory.addAccount('refused@fake.test', 'pw');
  const messages = Array.from({ length: 10 }, (_, i) => messageOf(i + 1));
  const first = await importMessages(fakeSource(messages, { withhold: new Set([4]) }), targetFor(), { account: 'refused@fake.test', rules: RULES });
  assert.equal(first.copied, 9);
  assert.equal(first.failed, 1);
  assert.deepEqual(first.failures, [{ folder: 'INBOX', uid: 4, reason: 'the source did not return it (deleted meanwhile, or refused)' }]);

  const second = await importMessages(fakeSource(messages), targetFor(), { account: 'refused@fake.test', rules: RULES });
  assert.equal(second.copied, 1, 'only the message that failed');
  assert.equal(second.failed, 0);
  assert.deepEqual((await uidsIn('refused@fake.test')).sort((a, b) => a - b), messages.map((m) => m.uid));
  const third = await importMessages(fakeSource(messages), targetFor(), { account: 'refused@fake.test', rules: RULES });
  assert.equal(third.copied + third.skipped + third.failed, 0, 'nothing left to retry');
});

test('a source that dies mid-FETCH: the folder is reported with the reason, the rerun copies the rest once', async () => {
  await store.directory.addAccount('dropped@fake.test', 'pw');
  const messages = Array.from({ length: 25 }, (_, i) => messageOf(i + 1));
  const first = await importMessages(fakeSource(messages, { dieAfter: 12 }), targetFor(), { account: 'dropped@fake.test', rules: RULES, batchMessages: 5 });
  assert.equal(first.incomplete, true);
  assert.match(first.folders[0]!.error ?? '', /Connection closed/);
  assert.equal(first.copied, 12);
  const second = await importMessages(fakeSource(messages), targetFor(), { account: 'dropped@fake.test', rules: RULES, batchMessages: 5 });
  assert.equal(second.incomplete, false);
  assert.equal(second.copied, 13);
  assert.deepEqual(await uidsIn('dropped@fake.test'), messages.map((m) => m.uid), 'each once, in the source order');
});

test('bytes held between fetching and filing stay within the budget; a larger message passes alone', async () => {
  await store.directory.addAccount('bounded@fake.test', 'pw');
  const messages = [...Array.from({ length: 30 }, (_, i) => messageOf(i + 1, 40_000)), messageOf(31, 300_000), messageOf(32, 40_000)];
  const peak = { now: 0, max: 0 };
  const summary = await importMessages(fakeSource(messages), targetFor(peak), { account: 'bounded@fake.test', rules: RULES, inFlightBytes: 100_000, uploads: 8 });
  assert.equal(summary.copied, 32);
  assert.ok(peak.max <= 300_000, `at most the one large message at a time, saw ${peak.max}`);
  assert.ok(peak.max >= 80_000, `uploads did run side by side within the budget, saw ${peak.max}`);
});

test('an abort stops asking for more; what was fetched is filed and the next run continues', async () => {
  await store.directory.addAccount('aborted@fake.test', 'pw');
  const messages = Array.from({ length: 40 }, (_, i) => messageOf(i + 1));
  const stop = new AbortController();
  const summary = await importMessages(fakeSource(messages), targetFor(), { account: 'aborted@fake.test', rules: RULES, batchMessages: 10, signal: stop.signal }, (event) => {
    if (event.kind === 'message' && event.outcome === 'copied') stop.abort();
  });
  assert.equal(summary.incomplete, true);
  assert.ok(summary.copied >= 1 && summary.copied < 40, `stopped early, copied ${summary.copied}`);
  const rest = await importMessages(fakeSource(messages), targetFor(), { account: 'aborted@fake.test', rules: RULES });
  assert.equal(summary.copied + rest.copied + rest.skipped, 40);
  assert.deepEqual(await uidsIn('aborted@fake.test'), messages.map((m) => m.uid));
});

test('a FETCH the source answers NO: the other messages of the batch are copied, the refused one reported with the server\'s words', async () => {
  await store.directory.addAccount('no@fake.test', 'pw');
  const messages = Array.from({ length: 12 }, (_, i) => messageOf(i + 1));
  const summary = await importMessages(fakeSource(messages, { refuse: new Set([3, 9]) }), targetFor(), { account: 'no@fake.test', rules: RULES, batchMessages: 5 });
  assert.equal(summary.incomplete, false);
  assert.equal(summary.copied, 10);
  assert.deepEqual(summary.failures, [
    { folder: 'INBOX', uid: 3, reason: 'the source refused it: FETCH in INBOX failed: Message is corrupted' },
    { folder: 'INBOX', uid: 9, reason: 'the source refused it: FETCH in INBOX failed: Message is corrupted' },
  ]);
  assert.deepEqual(await uidsIn('no@fake.test'), messages.map((m) => m.uid).filter((uid) => uid !== 3 && uid !== 9));
});
