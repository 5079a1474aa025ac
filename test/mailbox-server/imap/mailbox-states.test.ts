// The message states shared by a task's sessions (mailbox-server/mailbox-states.ts,
// docs/decisions/0025-shared-mailbox-states.md): a second session on an open mailbox reads no
// states, a cached UID FETCH reads no item, every session still hears every change (its own at
// once, another task's through the resync), and what is held is bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyCache } from '../../../core/body-cache.ts';
import { SharedMailboxHeads } from '../../../mailbox-server/mailbox-heads.ts';
import { MailboxStates } from '../../../mailbox-server/mailbox-states.ts';
import type { ImapServerOptions } from '../../../mailbox-server/imap/server.ts';
import type { Mailbox, MessageStore } from '../../../core/store/types.ts';
import { eventually } from '../../helpers/eventually.ts';
import { fileRequest } from '../../core/store/fixtures.ts';
import { ALICE, BOB, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

let w: ImapWorld;
before(async () => {
  w = await startImapWorld();
});
after(() => w?.close());

const count = (operation: string) => w.world.counter.counts.get(operation) ?? 0;
const total = () => [...w.world.counter.counts.values()].reduce((a, b) => a + b, 0);

/**
 * A task as mailbox-server/main.ts composes one: shared heads under shared states. The heads'
 * window is one no run of a test outlasts unless the test watches another task's changes.
 */
async function task(states: MailboxStates, extra: Partial<ImapServerOptions> = {}, freshMs = 60_000) {
  const server = await w.startServer({ store: states.wrap(new SharedMailboxHeads({ freshMs }).wrap(w.store.mailStore)), mailboxStates: states, ...extra });
  return server.ports.imap!;
}

async function session(port: number, user = ALICE): Promise<RawImap> {
  const c = await RawImap.connect(port);
  await c.line();
  await c.login(user.user, user.password);
  return c;
}

test('a second session selecting a mailbox the task has open reads no message states; without sharing it reads them again', async () => {
  await w.deliver(BOB.user, sampleMessage('one'));
  await w.deliver(BOB.user, sampleMessage('two'));
  const statesRead = async (states: MailboxStates) => {
    const port = await task(states);
    const first = await session(port, BOB);
    const second = await session(port, BOB);
    try {
      await first.command('SELECT INBOX');
      w.world.counter.counts.clear();
      const lines = await second.command('SELECT INBOX');
      assert.ok(lines.includes('* 2 EXISTS'), lines.join(' | '));
      return count('DynamoDB.Query');
    } finally {
      first.close();
      second.close();
    }
  };
  // maxStates 0: every session reads a copy of its own, as before the states were shared.
  assert.equal(await statesRead(new MailboxStates({ maxStates: 0 })), 1, 'unshared: the second SELECT queries the states again');
  assert.equal(await statesRead(new MailboxStates()), 0, 'shared: the consistency check only');
});

test('re-selecting the selected mailbox reads no message states; the mailbox left for another is dropped', async () => {
  await w.deliver(BOB.user, sampleMessage('again'), { mailbox: 'Sent' });
  const states = new MailboxStates();
  const c = await session(await task(states), BOB);
  try {
    await c.command('SELECT Sent');
    w.world.counter.counts.clear();
    const lines = await c.command('SELECT Sent');
    assert.match(lines.at(-1)!, /OK \[READ-WRITE\]/);
    assert.equal(count('DynamoDB.Query'), 0, 'the consistency check only');
    await c.command('EXAMINE INBOX');
    assert.equal(states.mailboxes, 1, 'Sent is no longer held');
  } finally {
    c.close();
  }
});

test('a single UID FETCH of a message read before costs at most the mailbox head read: no item read, no S3 request', async () => {
  const uid = await w.deliver(ALICE.user, sampleMessage('cached', 'x'.repeat(10_000)));
  const port = await task(new MailboxStates(), { bodyCache: new BodyCache() });
  const c = await session(port);
  try {
    await c.command('SELECT INBOX');
    await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    w.world.counter.counts.clear();
    const lines = await c.command(`UID FETCH ${uid} BODY.PEEK[]`);
    assert.match(lines.at(-1)!, /OK/);
    assert.equal(count('DynamoDB.BatchGetItem'), 0, 'the item parts come from the task');
    assert.ok(total() <= 1, `at most the head: ${JSON.stringify(Object.fromEntries(w.world.counter.counts))}`);
  } finally {
    c.close();
  }
});

test('every session on a shared mailbox hears each change: its own at once, a neighbour\'s, and another task\'s', async () => {
  const uid = await w.deliver(ALICE.user, sampleMessage('watched'), { mailbox: 'Archive' });
  const states = new MailboxStates();
  const port = await task(states, {}, 50);
  // Another task on the same tables, with states of its own.
  const otherPort = await task(new MailboxStates(), {}, 50);
  const a = await session(port);
  const b = await session(port);
  const other = await session(otherPort);
  try {
    await a.command('SELECT Archive');
    await b.command('SELECT Archive');
    await other.command('SELECT Archive');
    assert.equal(states.mailboxes, 1);
    const msn = (await a.command(`UID SEARCH UID ${uid}`)).find((l) => l.startsWith('* SEARCH'))!.split(' ')[2];
    // A STORE in session a: its own echo, no second announcement to a; b hears it at its next command.
    const stored = await a.command(`UID STORE ${uid} +FLAGS (\\Flagged)`);
    // \Recent: session a selected first, so the message is recent to it (RFC 3501 §2.3.2).
    assert.ok(stored.includes(`* ${msn} FETCH (FLAGS (\\Flagged \\Recent) UID ${uid})`), stored.join(' | '));
    assert.ok(!(await a.command('NOOP')).some((l) => l.includes('FETCH')), 'not announced back to the writer');
    assert.ok((await b.command('NOOP')).includes(`* ${msn} FETCH (FLAGS (\\Flagged) UID ${uid})`), 'the neighbour hears it at once');
    // Another task changes the flags, files a message and expunges: both sessions hear all of it.
    await other.command(`UID STORE ${uid} +FLAGS (\\Seen \\Deleted)`);
    const delivered = await w.deliver(ALICE.user, sampleMessage('new'), { mailbox: 'Archive' });
    for (const c of [a, b]) {
      await eventually(async () => (await c.command('NOOP')).some((l) => l.includes(`UID ${uid})`) && l.includes('\\Seen')), 'the other task\'s flags', 20_000, 200);
      await eventually(async () => (await c.command('NOOP')).some((l) => / EXISTS$/.test(l)) || (await c.command(`UID FETCH ${delivered} UID`)).some((l) => l.includes(`UID ${delivered}`)), 'the new message', 20_000, 200);
    }
    await other.command('EXPUNGE');
    for (const c of [a, b]) {
      await eventually(async () => (await c.command('NOOP')).includes(`* ${msn} EXPUNGE`), 'the other task\'s expunge', 20_000, 200);
    }
  } finally {
    a.close();
    b.close();
    other.close();
  }
});

test('held states and item parts are bounded: a mailbox is dropped with its last session, and the bounds hold', async () => {
  for (let i = 0; i < 6; i++) await w.deliver(ALICE.user, sampleMessage(`bounded ${i}`), { mailbox: 'Drafts' });
  const states = new MailboxStates({ maxPartBytes: 64 * 1024 });
  const port = await task(states);
  const a = await session(port);
  const b = await session(port);
  try {
    await a.command('SELECT Drafts');
    await b.command('EXAMINE Drafts');
    assert.equal(states.mailboxes, 1);
    await a.command('FETCH 1:* (ENVELOPE BODYSTRUCTURE)');
    assert.ok(states.heldParts.count > 0 && states.heldParts.bytes <= 64 * 1024, JSON.stringify(states.heldParts));
    await a.command('SELECT INBOX');
    assert.equal(states.mailboxes, 2, 'Drafts is still open in b');
    await b.command('CLOSE');
    await eventually(() => states.mailboxes === 1, 'Drafts dropped once no session has it', 5_000, 10);
    a.close();
    await eventually(() => states.mailboxes === 0, 'INBOX dropped when its session disconnects', 5_000, 10);
  } finally {
    a.close();
    b.close();
  }
  // A mailbox larger than the bound is not shared: its session reads a copy of its own.
  const small = new MailboxStates({ maxStates: 3 });
  const c = await session(await task(small));
  try {
    const lines = await c.command('SELECT Drafts');
    assert.ok(lines.some((l) => / EXISTS$/.test(l)) && lines.at(-1)!.includes('OK'), lines.join(' | '));
    assert.equal(small.mailboxes, 0);
    assert.equal(small.states, 0);
  } finally {
    c.close();
  }
});

test('a sync that began before a write of the task ended is not joined after it: the writer sees its own write', async () => {
  // The real store, with the answer of a head read held back until `release`: the read itself is
  // made before the write, as a slow network would deliver it.
  let held: Promise<void> | null = null;
  let release = () => undefined as void;
  const slow = new Proxy(w.store.mailStore, {
    get(target, property) {
      if (property !== 'getMailboxById') return Reflect.get(target, property, target);
      return (account: string, id: string) => {
        const read = target.getMailboxById(account, id);
        const gate = held;
        return gate ? read.then(async (m: Mailbox | null) => (await gate, m)) : read;
      };
    },
  }) as MessageStore;
  const states = new MailboxStates();
  const store = states.wrap(slow);
  const inbox = (await store.getMailbox(BOB.user, 'INBOX'))!;
  const shared = await states.open(store, inbox);
  const listener = { beforeChange() {} };
  shared.attach(listener, true);
  try {
    held = new Promise<void>((resolve) => (release = resolve));
    const before = shared.sync(store);
    const filed = await store.fileMessage(fileRequest(BOB.user, `own-write-${Date.now()}`));
    held = null;
    const after = shared.sync(store);
    release();
    await before;
    await after;
    assert.ok(shared.uidNext > filed.uid, `uidNext ${shared.uidNext} shows UID ${filed.uid}`);
    assert.equal(shared.state(filed.uid)?.expunged, false);
  } finally {
    shared.detach(listener);
  }
  assert.equal(states.mailboxes, 0);
});

test('STATUS of a mailbox another session has open reads no message states, and counts what changed', async () => {
  await w.deliver(ALICE.user, sampleMessage('seen'), { mailbox: 'Trash', flags: ['\\Seen'] });
  const unseen = await w.deliver(ALICE.user, sampleMessage('unseen'), { mailbox: 'Trash' });
  const port = await task(new MailboxStates());
  const a = await session(port);
  const b = await session(port);
  try {
    await a.command('SELECT Trash');
    w.world.counter.counts.clear();
    const first = await b.command('STATUS Trash (MESSAGES UNSEEN)');
    assert.ok(first.includes('* STATUS "Trash" (MESSAGES 2 UNSEEN 1)'), first.join(' | '));
    assert.equal(count('DynamoDB.Query'), 0);
    await a.command(`UID STORE ${unseen} +FLAGS (\\Seen)`);
    assert.ok((await b.command('STATUS Trash (MESSAGES UNSEEN)')).includes('* STATUS "Trash" (MESSAGES 2 UNSEEN 0)'));
    a.close();
    await eventually(async () => (await b.command('STATUS Trash (MESSAGES)')).includes('* STATUS "Trash" (MESSAGES 2)') && count('DynamoDB.Query') > 0, 'a read of its own once nobody has it open', 5_000, 20);
  } finally {
    a.close();
    b.close();
  }
});
