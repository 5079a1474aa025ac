// COPY (RFC 3501 §6.4.7) with COPYUID (RFC 4315) and one shared blob, MOVE and UID MOVE (RFC 6851).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('IMAP COPY and MOVE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)));

  test('COPY answers COPYUID and shares the blob; MOVE sends COPYUID then EXPUNGE', async () => {
    for (let i = 1; i <= 4; i++) await w.deliver(ALICE.user, sampleMessage(`m${i}`));
    await c.command('SELECT INBOX', 'b0');
    const copied = await c.command('COPY 2:3 Archive', 'b1');
    assert.match(copied[0]!, /^b1 OK \[COPYUID \d+ 2:3 1:2\] COPY completed$/);
    const [source] = await w.store.mailStore.getMessages((await w.store.mailStore.getMailbox(ALICE.user, 'INBOX'))!.id, [2]);
    assert.equal(await w.store.mailStore.blobReferences(source!.blobKey), 2, 'blob shared by original and copy');
    const moved = await c.command('MOVE 1 Trash', 'b2');
    assert.match(moved[0]!, /^\* OK \[COPYUID \d+ 1 1\] Moved$/);
    assert.equal(moved[1], '* 1 EXPUNGE');
    assert.equal(moved[2], 'b2 OK MOVE completed');
    const uidMoved = await c.command('UID MOVE 4 Trash', 'b3');
    assert.match(uidMoved[0]!, /^\* OK \[COPYUID \d+ 4 2\] Moved$/);
    assert.equal(uidMoved[1], '* 3 EXPUNGE');
    assert.match((await c.command('COPY 1 "No such"', 'b4'))[0]!, /^b4 NO \[TRYCREATE\]/);
  });
});
