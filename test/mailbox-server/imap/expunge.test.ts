// EXPUNGE (RFC 3501 §6.4.3), UID EXPUNGE (RFC 4315 §2.1), CLOSE (§6.4.2) and UNSELECT (RFC 3691):
// only \Deleted messages go, and UNSELECT expunges nothing. Archive holds two messages to start.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP EXPUNGE, CLOSE, UNSELECT', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      for (let i = 0; i < 2; i++) await w.deliver(ALICE.user, sampleMessage(`a${i}`), { mailbox: 'Archive' });
    },
  });

  test('EXPUNGE, UID EXPUNGE, CLOSE expunge only \\Deleted; UNSELECT does not', async () => {
    await c.command('SELECT Archive', 'c0');
    for (let i = 0; i < 3; i++) await w.deliver(ALICE.user, sampleMessage(`x${i}`), { mailbox: 'Archive' });
    assert.equal((await c.command('NOOP', 'c1'))[0], '* 5 EXISTS');
    await c.command('STORE 1,3,5 +FLAGS.SILENT (\\Deleted)', 'c2');
    // UIDs 1..5 are messages 1..5; UID 5 is \Deleted but outside the UID set.
    assert.deepEqual(await c.command('UID EXPUNGE 1:3', 'c3'), ['* 3 EXPUNGE', '* 1 EXPUNGE', 'c3 OK UID EXPUNGE completed']);
    assert.deepEqual(await c.command('EXPUNGE', 'c4'), ['* 3 EXPUNGE', 'c4 OK EXPUNGE completed']);
    await c.command('STORE 1 +FLAGS.SILENT (\\Deleted)', 'c5');
    assert.deepEqual(await c.command('UNSELECT', 'c6'), ['c6 OK UNSELECT completed']);
    assert.equal((await c.command('STATUS Archive (MESSAGES)', 'c7'))[0], '* STATUS "Archive" (MESSAGES 2)');
    await c.command('SELECT Archive', 'c8');
    assert.deepEqual(await c.command('CLOSE', 'c9'), ['c9 OK CLOSE completed']);
    assert.equal((await c.command('STATUS Archive (MESSAGES)', 'c10'))[0], '* STATUS "Archive" (MESSAGES 1)');
  });
});
