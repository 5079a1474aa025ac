// Reading a large mailbox in segments (core/store/uid-segments.ts): how the UID range below
// uidNext is cut, and, against the emulator, that the states read segment by segment at once are
// the states one Query reads: the same gap-free prefix (docs/decisions/0003-uid-protocol.md) in UID
// order, tombstones included, and nothing at or above the uidNext given.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createStore, type Store } from '../../../core/store/index.ts';
import { STATE_NAMES, STATE_PROJECTION, toState } from '../../../core/store/records.ts';
import { queryAll } from '../../../core/store/dynamo.ts';
import { MAX_SEGMENTS, MIN_SEGMENT_UIDS, readSegments, uidSegments } from '../../../core/store/uid-segments.ts';
import type { Mailbox } from '../../../core/store/types.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { seedMailbox } from '../../mailbox-server/imap/helpers/seed.ts';
import { fakeIndex } from './fixtures.ts';

const pairs = (from: number, to: number, options?: Parameters<typeof uidSegments>[2]) => uidSegments(from, to, options).map((s) => [s.from, s.to]);

/** The segments cover [from, to] exactly once, in order, without overlap. */
function assertCovers(from: number, to: number, options?: Parameters<typeof uidSegments>[2]) {
  const segments = uidSegments(from, to, options);
  let next = from;
  for (const s of segments) {
    assert.equal(s.from, next, `segment starts where the last ended: ${JSON.stringify(segments)}`);
    assert.ok(s.to >= s.from);
    next = s.to + 1;
  }
  assert.equal(next, to + 1, 'the last segment ends at the last UID');
}

describe('uidSegments', () => {
  test('uidNext 1 (an empty mailbox) and uidNext 0: nothing to read, no Query', () => {
    assert.deepEqual(pairs(1, 0), []);
    assert.deepEqual(pairs(1, -1), []);
    assert.deepEqual(pairs(5, 4), [], 'fromUid at uidNext');
  });

  test('one message (uidNext 2): one segment of one UID', () => {
    assert.deepEqual(pairs(1, 1), [[1, 1]]);
  });

  test('up to two segments\' worth is one Query; exactly two is two', () => {
    assert.deepEqual(pairs(1, MIN_SEGMENT_UIDS), [[1, MIN_SEGMENT_UIDS]], 'exactly one segment');
    assert.deepEqual(pairs(1, 2 * MIN_SEGMENT_UIDS - 1), [[1, 2 * MIN_SEGMENT_UIDS - 1]]);
    assert.deepEqual(pairs(1, 2 * MIN_SEGMENT_UIDS), [[1, MIN_SEGMENT_UIDS], [MIN_SEGMENT_UIDS + 1, 2 * MIN_SEGMENT_UIDS]]);
  });

  test('an uneven range: nearly equal widths, the last one shorter, every UID once', () => {
    assert.deepEqual(pairs(1, 10, { minWidth: 3 }), [[1, 4], [5, 8], [9, 10]]);
    assert.deepEqual(pairs(7, 17, { minWidth: 2, maxSegments: 4 }), [[7, 9], [10, 12], [13, 15], [16, 17]]);
    for (const [from, to, minWidth, maxSegments] of [[1, 10_000, 1000, 8], [3, 9_999, 1000, 8], [1, 1_000_003, 1000, 8], [1, 97, 10, 4], [40, 41, 1, 8]] as const) {
      assertCovers(from, to, { minWidth, maxSegments });
    }
  });

  test('a large mailbox: never more than MAX_SEGMENTS, wider segments instead', () => {
    const tenThousand = uidSegments(1, 10_000);
    assert.equal(tenThousand.length, MAX_SEGMENTS);
    assert.deepEqual(tenThousand.map((s) => s.to - s.from + 1), Array(MAX_SEGMENTS).fill(1250));
    assert.equal(uidSegments(1, 5_000_000).length, MAX_SEGMENTS);
    assertCovers(1, Number.MAX_SAFE_INTEGER - 1);
  });

  test('readSegments joins the answers in segment order, whatever order they finish in', async () => {
    const segments = uidSegments(1, 12, { minWidth: 3, maxSegments: 4 });
    const read = async (s: { from: number; to: number }) => {
      await new Promise((resolve) => setTimeout(resolve, (12 - s.from) * 2)); // the last segment answers first
      return Array.from({ length: s.to - s.from + 1 }, (_, i) => s.from + i);
    };
    assert.deepEqual(await readSegments(segments, read), Array.from({ length: 12 }, (_, i) => i + 1));
  });
});

describe('listMessageStates in segments (dynalite)', () => {
  let world: TestWorld;
  let store: Store;
  let big: Mailbox;
  const COUNT = 2 * MIN_SEGMENT_UIDS + 37;
  /** Expunged: the first, one each side of the boundary of the two segments (1019 | 1020), and the last. */
  const expunged = [1, MIN_SEGMENT_UIDS + 19, MIN_SEGMENT_UIDS + 20, COUNT];

  before(async () => {
    world = await startTestWorld();
    store = createStore(world.clients.doc, world.config.resources.tables);
    await store.directory.addDomain('segments.test');
    await store.directory.addAccount('sam@segments.test', 'pw');
    await store.mailStore.createMailbox('sam@segments.test', 'Big');
    const empty = (await store.mailStore.getMailbox('sam@segments.test', 'Big'))!;
    const index = fakeIndex('segment');
    await seedMailbox(world.clients.doc, world.config.resources.tables, empty, COUNT, (i) => ({ blobKey: `raw/seg/${i}`, size: 100 + i, index, flags: i % 2 ? ['\\Seen'] : [], internalDate: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }), 8);
    const mailbox = (await store.mailStore.getMailbox('sam@segments.test', 'Big'))!;
    await store.mailStore.expunge('sam@segments.test', mailbox.id, expunged);
    big = (await store.mailStore.getMailbox('sam@segments.test', 'Big'))!;
  });
  after(() => world?.close());

  /** The states one Query reads, page after page: what the segments must add up to. */
  const oneQuery = async (from: number, to: number) =>
    (
      await queryAll(world.clients.doc, {
        TableName: world.config.resources.tables.messages,
        KeyConditionExpression: 'mailboxId = :m AND #uid BETWEEN :from AND :last',
        ProjectionExpression: STATE_PROJECTION,
        ExpressionAttributeNames: STATE_NAMES,
        ExpressionAttributeValues: { ':m': big.id, ':from': from, ':last': to },
        ConsistentRead: true,
      })
    ).map(toState);

  test('the same states as one Query, in UID order, tombstones in their place; the Queries run at once', async () => {
    let open = 0;
    let mostOpen = 0;
    let queries = 0;
    const original = world.clients.doc.send.bind(world.clients.doc);
    world.clients.doc.send = (async (command: unknown, ...rest: unknown[]) => {
      if (!(command instanceof QueryCommand)) return (original as (...a: unknown[]) => unknown)(command, ...rest);
      queries += 1;
      mostOpen = Math.max(mostOpen, ++open);
      try {
        return await (original as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
      } finally {
        open -= 1;
      }
    }) as typeof world.clients.doc.send;
    let states;
    try {
      states = await store.mailStore.listMessageStates(big.id, big.uidNext);
    } finally {
      world.clients.doc.send = original;
    }
    assert.equal(big.uidNext, COUNT + 1);
    assert.deepEqual(states, await oneQuery(1, COUNT));
    assert.deepEqual(states.map((s) => s.uid), Array.from({ length: COUNT }, (_, i) => i + 1), 'every UID below uidNext, once, in order');
    assert.deepEqual(states.filter((s) => s.expunged).map((s) => s.uid), expunged, 'tombstones where the messages were');
    assert.ok(queries >= 2, `read in segments: ${queries} Queries`);
    assert.ok(mostOpen >= 2, `the segments' Queries overlapped: at most ${mostOpen} at once`);
  });

  test('fromUid and a uidNext read earlier bound the answer (a later delivery stays out)', async () => {
    const from = MIN_SEGMENT_UIDS - 5;
    const states = await store.mailStore.listMessageStates(big.id, COUNT - 10, { fromUid: from });
    assert.deepEqual(states.map((s) => s.uid), Array.from({ length: COUNT - 11 - from + 1 }, (_, i) => from + i));
    assert.deepEqual(states, await oneQuery(from, COUNT - 11));
    assert.deepEqual(await store.mailStore.listMessageStates(big.id, 1), []);
    assert.deepEqual(await store.mailStore.listMessageStates(big.id, 0), []);
    assert.deepEqual((await store.mailStore.listMessageStates(big.id, 3)).map((s) => [s.uid, s.expunged]), [[1, true], [2, false]]);
  });

  test('listMessages with toUid: the live messages of a segment, tombstones left out', async () => {
    const listed = await store.mailStore.listMessages('sam@segments.test', 'Big', { fromUid: MIN_SEGMENT_UIDS + 15, toUid: MIN_SEGMENT_UIDS + 21 });
    assert.deepEqual(listed.map((m) => m.uid), [15, 16, 17, 18, 21].map((n) => MIN_SEGMENT_UIDS + n));
  });
});
