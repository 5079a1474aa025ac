// SELECT and EXAMINE (RFC 3501 §6.3.1-§6.3.2): the untagged data in order, READ-WRITE and READ-ONLY,
// and a failed SELECT leaving no mailbox selected.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP SELECT and EXAMINE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)));

  test('SELECT and EXAMINE answer with the RFC 3501 §6.3.1 untagged data', async () => {
    await w.deliver(ALICE.user, sampleMessage('three'), { mailbox: 'Drafts', flags: ['\\Seen', '$Label1'] });
    await w.deliver(ALICE.user, sampleMessage('four'), { mailbox: 'Drafts' });
    const lines = await c.command('SELECT Drafts', 'd1');
    assert.equal(lines[0], '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)');
    assert.equal(lines[1], '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] Flags permitted');
    assert.equal(lines[2], '* 2 EXISTS');
    assert.equal(lines[3], '* 2 RECENT', 'the first session to select is told of both (RFC 3501 §2.3.2)');
    assert.equal(lines[4], '* OK [UNSEEN 2] First unseen');
    assert.match(lines[5]!, /^\* OK \[UIDVALIDITY \d+\] UIDs valid$/);
    assert.equal(lines[6], '* OK [UIDNEXT 3] Predicted next UID');
    assert.match(lines[7]!, /^\* OK \[HIGHESTMODSEQ \d+\] Highest$/);
    assert.match(lines[8]!, /^\* OK \[MAILBOXID \([\w-]+\)\] Ok$/);
    assert.equal(lines[9], 'd1 OK [READ-WRITE] SELECT completed');
    const examine = await c.command('EXAMINE Drafts', 'd2');
    assert.equal(examine[examine.length - 1], 'd2 OK [READ-ONLY] EXAMINE completed');
    assert.match((await c.command('SELECT Nope', 'd3'))[0]!, /^d3 NO \[NONEXISTENT\]/);
    assert.match((await c.command('CHECK', 'd4'))[0]!, /^d4 BAD/, 'a failed SELECT leaves no mailbox selected');
  });
});
