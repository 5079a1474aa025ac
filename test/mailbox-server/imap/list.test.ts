// LIST (RFC 3501 §6.3.8) with CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154) attributes. Its
// extensions are in list-extended.test.ts, its pattern matcher in list-pattern.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSuite, RawImap } from './helpers/imap-world.ts';

describe('IMAP LIST', () => {
  let c: RawImap;
  imapSuite((_w, alice) => (c = alice));

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
});
