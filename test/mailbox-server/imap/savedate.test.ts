// SAVEDATE (RFC 8514): FETCH SAVEDATE is when the message was saved into this mailbox (a COPY has
// its own, the internal date travels with it); SAVEDBEFORE/SAVEDON/SAVEDSINCE search it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatInternalDate } from '../../../mailbox-server/imap/fetch-response.ts';
import { ALICE, imapSuite, type ImapWorld, RawImap, runPython, sampleMessage } from './helpers/imap-world.ts';

const imapDay = (d: Date) => `${d.getUTCDate()}-${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}-${d.getUTCFullYear()}`;

describe('SAVEDATE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.store.mailStore.createMailbox(ALICE.user, 'Saved');
      await w.deliver(ALICE.user, sampleMessage('old mail'), { mailbox: 'Saved', internalDate: '2001-02-03T04:05:06Z' });
    },
    select: 'Saved',
  });

  test('FETCH SAVEDATE is the save time; a copy gets its own; SEARCH SAVED* and SAVEDATESUPPORTED', async () => {
    const [item] = await w.store.mailStore.getMessages((await w.store.mailStore.getMailbox(ALICE.user, 'Saved'))!.id, [1]);
    assert.ok(item?.savedAt);
    assert.deepEqual(await c.command('FETCH 1 (SAVEDATE INTERNALDATE)', 'f1'), [`* 1 FETCH (SAVEDATE "${formatInternalDate(item.savedAt)}" INTERNALDATE " 3-Feb-2001 04:05:06 +0000")`, 'f1 OK FETCH completed']);
    await c.command('COPY 1 Saved');
    const copied = await c.command('FETCH 2 (SAVEDATE INTERNALDATE)', 'f2');
    assert.match(copied[0]!, /^\* 2 FETCH \(SAVEDATE "[^"]+" INTERNALDATE " 3-Feb-2001 04:05:06 \+0000"\)$/);
    const today = imapDay(new Date());
    assert.deepEqual(await c.command(`SEARCH SAVEDON ${today}`, 's1'), ['* SEARCH 1 2', 's1 OK SEARCH completed']);
    assert.deepEqual(await c.command(`SEARCH SAVEDBEFORE ${today}`, 's2'), ['* SEARCH', 's2 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH SAVEDSINCE 1-Jan-2020 BEFORE 1-Jan-2002', 's3'), ['* SEARCH 1 2', 's3 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH SAVEDATESUPPORTED', 's4'), ['* SEARCH 1 2', 's4 OK SEARCH completed']);
  });

  test('Python imaplib: FETCH SAVEDATE and SEARCH SAVEDSINCE', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.login(os.environ['USER'], os.environ['PASS'])
m.select('Saved')
print(m.fetch('1', '(SAVEDATE)')[1][0].decode())
print(m.search(None, 'SAVEDSINCE', '1-Jan-2020')[1][0].decode())
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const [fetched, found] = out.trim().split('\n');
    assert.match(fetched!, /^1 \(SAVEDATE "[ \d]\d-\w{3}-\d{4} \d\d:\d\d:\d\d \+0000"\)$/);
    assert.equal(found, '1 2');
  });
});
