// RFC 1939 §5: the maildrop is INBOX as it stood at login, numbered 1..n in UID order. A large
// INBOX is read in segments at once (core/store/uid-segments.ts), each in pages; the numbering
// must come out as one read in order would give it, without tombstones, and end at the uidNext
// read first (a message filed while the segments are read is not in this session's maildrop).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, type Store } from '../../../core/store/index.ts';
import { MIN_SEGMENT_UIDS } from '../../../core/store/uid-segments.ts';
import { Maildrop, type MaildropStore } from '../../../mailbox-server/pop3/maildrop.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { fakeIndex } from '../../core/store/fixtures.ts';
import { seedMailbox } from '../imap/helpers/seed.ts';

const ACCOUNT = 'pat@maildrop.test';
/** Three segments, each wider than a login page (500), so each is read in several pages. */
const COUNT = 3 * MIN_SEGMENT_UIDS + 250;
const EXPUNGED = [1, 2, 500, 501, MIN_SEGMENT_UIDS + 84, COUNT - 1];

let world: TestWorld;
let store: Store;

before(async () => {
  world = await startTestWorld();
  store = createStore(world.clients.doc, world.config.resources.tables);
  await store.directory.addDomain('maildrop.test');
  await store.directory.addAccount(ACCOUNT, 'pw');
  const inbox = (await store.mailStore.getMailbox(ACCOUNT, 'INBOX'))!;
  await seedMailbox(world.clients.doc, world.config.resources.tables, inbox, COUNT, (i) => ({ blobKey: `raw/drop/${i + 1}`, size: 1000 + i, index: fakeIndex(`m${i + 1}`, 1000 + i), flags: [], internalDate: new Date().toISOString() }), 8);
  await store.mailStore.expunge(ACCOUNT, inbox.id, EXPUNGED);
});
after(() => world?.close());

test('a large INBOX read in segments: numbered 1..n in UID order, tombstones left out, UIDL from UIDVALIDITY.UID', async () => {
  const inbox = (await store.mailStore.getMailbox(ACCOUNT, 'INBOX'))!;
  const drop = await Maildrop.open(store.mailStore, ACCOUNT);
  const expected = Array.from({ length: COUNT }, (_, i) => i + 1).filter((uid) => !EXPUNGED.includes(uid));
  const live = drop.live();
  assert.deepEqual(live.map((m) => m.uid), expected);
  assert.deepEqual(live.map((m) => m.number), expected.map((_, i) => i + 1));
  assert.deepEqual(live.map((m) => m.blobKey), expected.map((uid) => `raw/drop/${uid}`));
  assert.deepEqual(live.map((m) => m.size), expected.map((uid) => 999 + uid));
  assert.equal(live.at(-1)!.uniqueId, `${inbox.uidValidity}.${COUNT}`);
  assert.equal(drop.get('3').uid, 5, 'UIDs 1 and 2 are tombstones');
});

test('the snapshot ends at the uidNext read first: UIDs filed while the segments are read stay out', async () => {
  const earlier: MaildropStore = {
    // As if the INBOX item had been read before its last 700 messages were filed.
    getMailbox: async (account, name) => {
      const mailbox = await store.mailStore.getMailbox(account, name);
      return mailbox && { ...mailbox, uidNext: COUNT - 699 };
    },
    listMessages: (account, name, options) => store.mailStore.listMessages(account, name, options),
    expunge: (account, id, uids) => store.mailStore.expunge(account, id, uids),
  };
  const drop = await Maildrop.open(earlier, ACCOUNT);
  const last = drop.live().at(-1)!;
  assert.equal(last.uid, COUNT - 700);
  assert.equal(drop.stat().count, COUNT - 700 - EXPUNGED.filter((uid) => uid <= COUNT - 700).length);
});
