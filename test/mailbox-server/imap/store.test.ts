// STORE and UID STORE (RFC 3501 §6.4.6): +FLAGS, -FLAGS.SILENT, FLAGS, a new keyword announced first
// (§7.2.6), CONDSTORE UNCHANGEDSINCE and [MODIFIED] (RFC 7162 §3.1.3), NO on a read-only mailbox.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP STORE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.deliver(ALICE.user, sampleMessage('one'));
      await w.deliver(ALICE.user, sampleMessage('two'));
    },
    select: 'INBOX',
  });

  test('STORE +FLAGS, -FLAGS.SILENT, FLAGS; UNCHANGEDSINCE answers [MODIFIED]', async () => {
    // $Work is new to the mailbox: announced first (RFC 3501 §7.2.6).
    assert.deepEqual(await c.command('STORE 1 +FLAGS (\\Flagged $Work)', 'd1'), [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted',
      '* 1 FETCH (FLAGS (\\Flagged \\Recent $Work))',
      'd1 OK STORE completed',
    ]);
    assert.deepEqual(await c.command('STORE 1 -FLAGS.SILENT ($Work)', 'd2'), ['d2 OK STORE completed']);
    assert.deepEqual(await c.command('UID STORE 1 FLAGS (\\Answered)', 'd3'), ['* 1 FETCH (FLAGS (\\Answered \\Recent) UID 1)', 'd3 OK UID STORE completed']);
    const modseq = Number(/MODSEQ \((\d+)\)/.exec((await c.command('FETCH 1 (MODSEQ)', 'd4'))[0]!)![1]);
    const ok = await c.command(`STORE 1 (UNCHANGEDSINCE ${modseq}) +FLAGS (\\Seen)`, 'd5');
    assert.match(ok[0]!, /^\* 1 FETCH \(FLAGS \(\\Answered \\Seen \\Recent\) MODSEQ \(\d+\)\)$/);
    const stale = await c.command(`STORE 1 (UNCHANGEDSINCE ${modseq}) -FLAGS (\\Seen)`, 'd6');
    assert.equal(stale[stale.length - 1], 'd6 OK [MODIFIED 1] Conditional STORE failed for some messages');
    const changed = await c.command(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq})`, 'd7');
    assert.equal(changed.length, 2, 'only message 1 changed since');
    await c.command('EXAMINE INBOX', 'd8');
    assert.match((await c.command('STORE 1 +FLAGS (\\Deleted)', 'd9'))[0]!, /^d9 NO \[READ-ONLY\]/);
    await c.command('SELECT INBOX', 'd10');
  });
});
