// OBJECTID (RFC 8474): MAILBOXID on SELECT, STATUS and CREATE, kept across RENAME; EMAILID kept
// across COPY and MOVE, different for another account's copy of one delivery; THREADID NIL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, BOB, imapSuite, type ImapWorld, RawImap, sampleMessage } from './helpers/imap-world.ts';

describe('OBJECTID', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.deliver(ALICE.user, sampleMessage('has an id'));
    },
  });

  test('MAILBOXID from CREATE, SELECT and STATUS agree and survive RENAME', async () => {
    const created = /MAILBOXID \(([\w-]+)\)/.exec((await c.command('CREATE Ids', 'm1'))[0]!)?.[1];
    assert.ok(created);
    assert.deepEqual(await c.command('STATUS Ids (MAILBOXID MESSAGES)', 'm2'), [`* STATUS "Ids" (MAILBOXID (${created}) MESSAGES 0)`, 'm2 OK STATUS completed']);
    assert.match((await c.command('RENAME Ids Ids2', 'm3')).at(-1)!, /^m3 OK/);
    assert.ok((await c.command('SELECT Ids2', 'm4')).includes(`* OK [MAILBOXID (${created})] Ok`));
  });

  test('EMAILID is kept by COPY and MOVE; THREADID is NIL; SEARCH EMAILID finds the copies', async () => {
    await c.command('SELECT INBOX');
    const first = await c.command('FETCH 1 (EMAILID THREADID)', 'e1');
    const id = /EMAILID \((M[\w-]+)\)/.exec(first[0]!)?.[1];
    assert.ok(id, first[0]!);
    assert.equal(first[0]!, `* 1 FETCH (EMAILID (${id}) THREADID NIL)`);
    await c.command('COPY 1 Drafts');
    await c.command('SELECT Drafts');
    assert.match((await c.command('UID FETCH 1:* (EMAILID)', 'e2'))[0]!, new RegExp(`EMAILID \\(${id}\\)`));
    await c.command('MOVE 1 Trash');
    await c.command('SELECT Trash');
    assert.deepEqual(await c.command(`SEARCH EMAILID ${id}`, 'e3'), ['* SEARCH 1', 'e3 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH THREADID T1', 'e4'), ['* SEARCH', 'e4 OK SEARCH completed']);
    assert.match((await c.command('SEARCH EMAILID "a b"', 'e5'))[0]!, /^e5 BAD /);
    assert.match((await c.command('CAPABILITY', 'e6'))[0]!, / OBJECTID( |$)/);
  });

  test("imapflow reads EMAILID, and another account's copy of one delivery has another id", async () => {
    const { store, blobs } = w;
    // One blob filed to both accounts, as a delivery to two recipients is.
    const key = `raw/2024/01/01/shared-${Date.now()}.eml`;
    const raw = Buffer.from(sampleMessage('to both'));
    await blobs.put(key, raw);
    const { indexMessage } = await import('../../../core/mime/index.ts');
    for (const account of [ALICE.user, BOB.user]) {
      await store.mailStore.fileMessage({ account, mailbox: 'Junk', deliveryKey: `both-${account}`, blobKey: key, size: raw.length, internalDate: new Date().toISOString(), flags: [], index: indexMessage(raw) });
    }
    const ids: string[] = [];
    for (const user of [ALICE, BOB]) {
      const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, doSTARTTLS: false, auth: { user: user.user, pass: user.password }, logger: false });
      await client.connect();
      try {
        await client.mailboxOpen('Junk');
        const message = await client.fetchOne('*', { emailId: true, uid: true });
        assert.ok(message && message.emailId, 'imapflow parsed EMAILID');
        ids.push(message.emailId);
      } finally {
        await client.logout();
      }
    }
    assert.notEqual(ids[0], ids[1]);
  });
});
