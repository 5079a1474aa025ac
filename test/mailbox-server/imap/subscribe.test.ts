// SUBSCRIBE, UNSUBSCRIBE and LSUB (RFC 3501 §6.3.6-§6.3.9), LIST (SUBSCRIBED) (RFC 5258), and the
// commands of a session's first exchange beside them: NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE
// (RFC 5161). The account has renamed INBOX to Saved, which subscribes Saved.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imapSuite, RawImap } from './helpers/imap-world.ts';

describe('IMAP SUBSCRIBE, UNSUBSCRIBE, LSUB', () => {
  let c: RawImap;
  imapSuite((_w, alice) => (c = alice));
  before(() => c.command('RENAME INBOX Saved'));

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
});
