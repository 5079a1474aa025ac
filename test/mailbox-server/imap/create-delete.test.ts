// CREATE and DELETE (RFC 3501 §6.3.3-§6.3.4): hierarchy, modified UTF-7 names (§5.1.3), MAILBOXID
// (RFC 8474 §4.1), and the refusals: existing name, INBOX, inferiors, no such mailbox.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSuite, type ImapWorld, RawImap } from './helpers/imap-world.ts';

describe('IMAP CREATE and DELETE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)));

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
});
