// Invariant 4: a session authenticated as A can never name, select, read or change B's
// mailboxes, by any name form (path tricks, namespace prefixes, modified UTF-7 variants, case).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, BOB, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

const hostileNames = [
  '../bob@example.test/INBOX',
  'bob@example.test/INBOX',
  '~bob/INBOX',
  '#shared/bob/INBOX',
  '#user/bob/INBOX',
  '"Other Users/bob/INBOX"',
  '/INBOX',
  'BobSecret',
  'bobsecret',
  '"&AEI-obSecret"', // "BobSecret" with B written as modified UTF-7 (non-minimal: must be refused)
  '"Bob&AFM-ecret"',
  '"BobSecret/"',
  '"BobSecret\\\\"',
];

describe('IMAP isolation between accounts', () => {
  let w: ImapWorld;
  let a: RawImap;
  imapSuite((world, alice) => ((w = world), (a = alice)), {
    seed: async (w) => {
      await w.store.mailStore.createMailbox(BOB.user, 'BobSecret');
      await w.deliver(BOB.user, sampleMessage('bob private'));
      await w.deliver(BOB.user, sampleMessage('bob private 2'), { mailbox: 'BobSecret' });
    },
  });

  test('no name form reaches Bob: SELECT/EXAMINE/STATUS/APPEND/DELETE/RENAME all fail', async () => {
    for (const name of hostileNames) {
      for (const cmd of [`SELECT ${name}`, `EXAMINE ${name}`, `STATUS ${name} (MESSAGES)`, `DELETE ${name}`, `RENAME ${name} Stolen`, `SUBSCRIBE ${name}`]) {
        const lines = await a.command(cmd);
        assert.match(lines[lines.length - 1]!, /^t\d+ (NO|BAD) /, `${cmd} → ${lines.join(' | ')}`);
        assert.ok(!lines.some((l) => /EXISTS|STATUS/.test(l)), `${cmd} leaked: ${lines.join(' | ')}`);
      }
      const append = await a.command(`APPEND ${name} {5+}\r\nhello`);
      assert.match(append[append.length - 1]!, /^t\d+ (NO|BAD) /, `APPEND ${name}`);
    }
    const bobInbox = await w.store.mailStore.getMailbox(BOB.user, 'INBOX');
    const bobSecret = await w.store.mailStore.getMailbox(BOB.user, 'BobSecret');
    assert.equal(bobInbox!.uidNext, 2, 'nothing appended to Bob INBOX');
    assert.equal(bobSecret!.uidNext, 2, 'nothing appended to BobSecret');
  });

  test('COPY/MOVE from A cannot target B, and LIST shows only A', async () => {
    await w.deliver(ALICE.user, sampleMessage('alice'));
    await a.command('SELECT INBOX', 's');
    for (const name of hostileNames) {
      for (const cmd of [`COPY 1 ${name}`, `MOVE 1 ${name}`]) {
        const lines = await a.command(cmd);
        assert.match(lines[lines.length - 1]!, /^t\d+ (NO|BAD) /, cmd);
      }
    }
    const list = await a.command('LIST "" "*"');
    assert.ok(!list.some((l) => /Bob/i.test(l)), list.join('\n'));
    const other = await a.command('LIST "" "%/%"');
    assert.deepEqual(other.slice(0, -1), []);
    assert.equal((await w.store.mailStore.getMailbox(BOB.user, 'BobSecret'))!.uidNext, 2);
  });
});
