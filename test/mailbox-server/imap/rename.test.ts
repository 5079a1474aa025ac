// RENAME (RFC 3501 §6.3.5): a mailbox with its inferiors, and INBOX, whose messages move to the
// new name while INBOX stays.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP RENAME', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)));

  test('RENAME a mailbox and its inferiors; RENAME INBOX moves the messages and leaves INBOX', async () => {
    await c.command('CREATE Old/Child', 'c1');
    assert.deepEqual(await c.command('RENAME Old New', 'c2'), ['c2 OK RENAME completed']);
    assert.deepEqual(await c.command('LIST "" "New*"', 'c3'), ['* LIST (\\HasChildren) "/" "New"', '* LIST (\\HasNoChildren) "/" "New/Child"', 'c3 OK LIST completed']);
    await w.deliver(ALICE.user, sampleMessage('one'));
    await w.deliver(ALICE.user, sampleMessage('two'));
    assert.deepEqual(await c.command('RENAME INBOX Saved', 'c4'), ['c4 OK RENAME completed']);
    assert.deepEqual(await c.command('STATUS INBOX (MESSAGES)', 'c5'), ['* STATUS "INBOX" (MESSAGES 0)', 'c5 OK STATUS completed']);
    assert.deepEqual(await c.command('STATUS Saved (MESSAGES UNSEEN)', 'c6'), ['* STATUS "Saved" (MESSAGES 2 UNSEEN 2)', 'c6 OK STATUS completed']);
    assert.match((await c.command('RENAME Saved Sent', 'c7'))[0]!, /^c7 NO \[ALREADYEXISTS\]/);
  });
});
