// Mailbox commands (RFC 3501 §6.3): SELECT/EXAMINE, CREATE, DELETE, RENAME (INBOX too), SUBSCRIBE,
// LIST/LSUB with wildcards, CHILDREN and SPECIAL-USE, STATUS, NAMESPACE, ID, ENABLE; modified UTF-7.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('IMAP mailbox commands', () => {
  let w: ImapWorld;
  let c: RawImap;
  before(async () => {
    w = await startImapWorld();
    c = await RawImap.connect(w.port);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
  });
  after(async () => {
    c?.close();
    await w?.close();
  });

  test('LIST "" "*" shows the special-use mailboxes with children attributes', async () => {
    const lines = await c.command('LIST "" "*"', 'a1');
    assert.deepEqual(lines, [
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
      'a1 OK LIST completed',
    ]);
    assert.deepEqual(await c.command('LIST "" ""', 'a2'), ['* LIST (\\Noselect) "/" ""', 'a2 OK LIST completed']);
    assert.deepEqual(await c.command('LIST "" inbox', 'a3'), ['* LIST (\\HasNoChildren) "/" "INBOX"', 'a3 OK LIST completed']);
  });

  test('CREATE with hierarchy and modified UTF-7; % and * wildcards; DELETE', async () => {
    // RFC 8474 §4.1: CREATE answers with the new mailbox's MAILBOXID.
    assert.match((await c.command('CREATE Work/Projects/2024', 'b1'))[0]!, /^b1 OK \[MAILBOXID \([\w-]+\)\] CREATE completed$/);
    assert.deepEqual(await c.command('CREATE Work/Projects/2024', 'b2'), ['b2 NO [ALREADYEXISTS] Mailbox already exists']);
    assert.match((await c.command('CREATE "&ZeVnLIqe-"', 'b3'))[0]!, /^b3 OK \[MAILBOXID \([\w-]+\)\] CREATE completed$/);
    assert.match((await c.command('CREATE "&Jjo"', 'b4'))[0]!, /^b4 NO \[CANNOT\]/, 'unterminated shift');
    assert.deepEqual(await c.command('LIST "" "Work/%"', 'b5'), ['* LIST (\\HasChildren) "/" "Work/Projects"', 'b5 OK LIST completed']);
    assert.deepEqual(await c.command('LIST Work/ "*"', 'b6'), [
      '* LIST (\\HasChildren) "/" "Work/Projects"',
      '* LIST (\\HasNoChildren) "/" "Work/Projects/2024"',
      'b6 OK LIST completed',
    ]);
    assert.deepEqual(await c.command('LIST "" "&ZeVnLIqe-"', 'b7'), ['* LIST (\\HasNoChildren) "/" "&ZeVnLIqe-"', 'b7 OK LIST completed']);
    assert.match((await c.command('DELETE Work', 'b8'))[0]!, /^b8 NO \[INUSE\]/);
    assert.deepEqual(await c.command('DELETE Work/Projects/2024', 'b9'), ['b9 OK DELETE completed']);
    assert.match((await c.command('DELETE INBOX', 'b10'))[0]!, /^b10 NO/);
    assert.match((await c.command('DELETE NoSuchBox', 'b11'))[0]!, /^b11 NO \[NONEXISTENT\]/);
  });

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

  test('SUBSCRIBE/UNSUBSCRIBE and LSUB; NAMESPACE; ID; ENABLE CONDSTORE', async () => {
    assert.deepEqual(await c.command('UNSUBSCRIBE Junk', 'e1'), ['e1 OK UNSUBSCRIBE completed']);
    const lsub = await c.command('LSUB "" "J*"', 'e2');
    assert.deepEqual(lsub, ['e2 OK LSUB completed']);
    await c.command('SUBSCRIBE Junk', 'e3');
    assert.deepEqual(await c.command('LSUB "" "J*"', 'e4'), ['* LSUB () "/" "Junk"', 'e4 OK LSUB completed']);
    assert.deepEqual(await c.command('LIST (SUBSCRIBED) "" "J*"', 'e5'), ['* LIST (\\HasNoChildren \\Junk \\Subscribed) "/" "Junk"', 'e5 OK LIST completed']);
    assert.deepEqual(await c.command('NAMESPACE', 'e6'), ['* NAMESPACE (("" "/")) NIL NIL', 'e6 OK NAMESPACE completed']);
    const idLines = await c.command('ID ("name" "test")', 'e7');
    assert.match(idLines[0]!, /^\* ID \("name" "mailbox-server" "version" "\d+\.\d+\.\d+[^"]*" "vendor" "serverless-mail"\)$/);
    assert.equal(idLines[1], 'e7 OK ID completed');
    assert.deepEqual(await c.command('ENABLE CONDSTORE', 'e8'), ['* ENABLED CONDSTORE', 'e8 OK ENABLE completed']);
  });

  test('LSUB lists exactly the subscribed names; CREATE does not subscribe; "%" shows an unsubscribed superior \\Noselect (RFC 3501 §6.3.9)', async () => {
    assert.match((await c.command('CREATE Lsub/Mid/Leaf', 'g1'))[0]!, /^g1 OK .*CREATE completed$/);
    assert.deepEqual(await c.command('LSUB "" "Lsub*"', 'g2'), ['g2 OK LSUB completed'], 'CREATE subscribes nothing');
    assert.deepEqual(await c.command('LIST (SUBSCRIBED) "" "Lsub*"', 'g3'), ['g3 OK LIST completed']);
    await c.command('SUBSCRIBE Lsub/Mid/Leaf', 'g4');
    assert.deepEqual(await c.command('LSUB "" "Lsub*"', 'g5'), ['* LSUB () "/" "Lsub/Mid/Leaf"', 'g5 OK LSUB completed']);
    assert.deepEqual(await c.command('LSUB "" "Ls%"', 'g6'), ['* LSUB (\\Noselect) "/" "Lsub"', 'g6 OK LSUB completed']);
    assert.deepEqual(await c.command('LSUB "" "Lsub/%"', 'g7'), ['* LSUB (\\Noselect) "/" "Lsub/Mid"', 'g7 OK LSUB completed']);
    await c.command('SUBSCRIBE Lsub', 'g8');
    assert.deepEqual(await c.command('LSUB "" "Ls%"', 'g9'), ['* LSUB () "/" "Lsub"', 'g9 OK LSUB completed']);
    assert.deepEqual(await c.command('LSUB "" "%"', 'g10'), [
      '* LSUB () "/" "INBOX"',
      '* LSUB () "/" "Archive"',
      '* LSUB () "/" "Drafts"',
      '* LSUB () "/" "Junk"',
      '* LSUB () "/" "Lsub"',
      '* LSUB () "/" "Saved"',
      '* LSUB () "/" "Sent"',
      '* LSUB () "/" "Trash"',
      'g10 OK LSUB completed',
    ], 'the special-use mailboxes made with the account stay subscribed, as does the mailbox RENAME INBOX made');
  });

  test('STATUS items', async () => {
    const lines = await c.command('STATUS Drafts (MESSAGES RECENT UIDNEXT UNSEEN SIZE DELETED APPENDLIMIT)', 'f1');
    assert.match(lines[0]!, /^\* STATUS "Drafts" \(MESSAGES 2 RECENT 0 UIDNEXT 3 UNSEEN 1 SIZE \d+ DELETED 0 APPENDLIMIT \d+\)$/);
  });
});
