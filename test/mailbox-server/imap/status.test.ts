// STATUS (RFC 3501 §6.3.10) with the items of RFC 8438 SIZE, RFC 9051 DELETED and RFC 7889
// APPENDLIMIT, on a mailbox of one seen and one unseen message that a session has already selected.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP STATUS', () => {
  let c: RawImap;
  imapSuite((_w, alice) => (c = alice), {
    seed: async (w) => {
      await w.deliver(ALICE.user, sampleMessage('three'), { mailbox: 'Drafts', flags: ['\\Seen', '$Label1'] });
      await w.deliver(ALICE.user, sampleMessage('four'), { mailbox: 'Drafts' });
    },
    select: 'Drafts',
  });
  // Selected once and left, so neither message is recent any more (RFC 3501 §2.3.2).
  before(() => c.command('UNSELECT'));

  test('STATUS items', async () => {
    const lines = await c.command('STATUS Drafts (MESSAGES RECENT UIDNEXT UNSEEN SIZE DELETED APPENDLIMIT)', 'f1');
    assert.match(lines[0]!, /^\* STATUS "Drafts" \(MESSAGES 2 RECENT 0 UIDNEXT 3 UNSEEN 1 SIZE \d+ DELETED 0 APPENDLIMIT \d+\)$/);
  });
});
