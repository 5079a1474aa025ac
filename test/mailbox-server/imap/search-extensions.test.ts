// ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN (RFC 5032) against a real server: the RFC
// examples as raw lines, and Python imaplib sending the same commands as a client would.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE, imapSuite, type ImapWorld, RawImap, runPython, sampleMessage } from './helpers/imap-world.ts';

const DAY = 86_400_000;

describe('ESEARCH, SEARCHRES, WITHIN', () => {
  let w: ImapWorld;
  let c: RawImap;
  const uids: number[] = [];
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.store.mailStore.createMailbox(ALICE.user, 'Searches');
      // Messages 1-2 arrived three days ago, 3-5 just now; 2 and 4 are \Seen.
      for (let i = 1; i <= 5; i++) {
        const internalDate = new Date(Date.now() - (i <= 2 ? 3 * DAY : 0)).toISOString();
        uids.push(await w.deliver(ALICE.user, sampleMessage(`message ${i}`), { mailbox: 'Searches', internalDate, flags: i % 2 === 0 ? ['\\Seen'] : [] }));
      }
    },
    select: 'Searches',
  });

  test('the capabilities are advertised', async () => {
    const lines = await c.command('CAPABILITY');
    for (const cap of ['ESEARCH', 'SEARCHRES', 'WITHIN']) assert.match(lines[0]!, new RegExp(` ${cap}( |$)`));
  });

  test('RFC 4731 §3.1: MIN, MAX, ALL, COUNT with the tag correlator; UID form; no match', async () => {
    assert.deepEqual(await c.command('SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN', 'A282'), ['* ESEARCH (TAG "A282") MIN 1 MAX 5 ALL 1,3,5 COUNT 3', 'A282 OK SEARCH completed']);
    // RETURN () is RETURN (ALL); UID SEARCH answers UIDs and says UID.
    assert.deepEqual(await c.command('UID SEARCH RETURN () ALL', 'A283'), [`* ESEARCH (TAG "A283") UID ALL ${uids[0]}:${uids[4]}`, 'A283 OK UID SEARCH completed']);
    // No match: MIN/MAX/ALL left out, COUNT 0 given.
    assert.deepEqual(await c.command('SEARCH RETURN (MIN COUNT) KEYWORD $Nothing', 'A284'), ['* ESEARCH (TAG "A284") COUNT 0', 'A284 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH RETURN (MAX) KEYWORD $Nothing', 'A285'), ['* ESEARCH (TAG "A285")', 'A285 OK SEARCH completed']);
    // Without RETURN the RFC 3501 answer stays.
    assert.deepEqual(await c.command('SEARCH SEEN', 'A286'), ['* SEARCH 2 4', 'A286 OK SEARCH completed']);
    assert.match((await c.command('SEARCH RETURN (BOGUS) ALL', 'A287'))[0]!, /^A287 BAD /);
  });

  test('RFC 5182: SAVE keeps the result for "$"; SAVE alone answers no ESEARCH', async () => {
    assert.deepEqual(await c.command('SEARCH RETURN (SAVE) SEEN', 'B1'), ['B1 OK SEARCH completed']);
    const fetched = await c.command('FETCH $ (UID)', 'B2');
    assert.deepEqual(fetched, [`* 2 FETCH (UID ${uids[1]})`, `* 4 FETCH (UID ${uids[3]})`, 'B2 OK FETCH completed']);
    // "$" inside criteria, as a message set and after UID.
    assert.deepEqual(await c.command('SEARCH NOT $', 'B3'), ['* SEARCH 1 3 5', 'B3 OK SEARCH completed']);
    assert.deepEqual(await c.command('UID SEARCH UID $', 'B4'), [`* SEARCH ${uids[1]} ${uids[3]}`, 'B4 OK UID SEARCH completed']);
    // §2.4: SAVE with MIN (no ALL, no COUNT) keeps only the minimum; the ESEARCH answer still comes.
    assert.deepEqual(await c.command('SEARCH RETURN (SAVE MIN) UNSEEN', 'B5'), ['* ESEARCH (TAG "B5") MIN 1', 'B5 OK SEARCH completed']);
    assert.deepEqual(await c.command('UID FETCH $ (FLAGS)', 'B6'), [`* 1 FETCH (UID ${uids[0]} FLAGS (\\Recent))`, 'B6 OK UID FETCH completed'], 'this session selected first: \\Recent is its own (RFC 3501 §2.3.2)');
    // STORE and COPY take "$" too.
    assert.match((await c.command('STORE $ +FLAGS.SILENT (\\Flagged)', 'B7')).at(-1)!, /^B7 OK/);
    assert.deepEqual(await c.command('SEARCH FLAGGED', 'B8'), ['* SEARCH 1', 'B8 OK SEARCH completed']);
    await c.command('STORE 1 -FLAGS.SILENT (\\Flagged)');
    // §2.4: a SAVE search that fails empties the variable.
    assert.match((await c.command('SEARCH RETURN (SAVE) CHARSET KOI8-R ALL', 'B9')).at(-1)!, /^B9 NO \[BADCHARSET/);
    assert.deepEqual(await c.command('FETCH $ (UID)', 'B10'), ['B10 OK FETCH completed']);
    // §2.1: selecting a mailbox resets it.
    await c.command('SEARCH RETURN (SAVE) ALL');
    await c.command('SELECT Searches');
    assert.deepEqual(await c.command('FETCH $ (UID)', 'B11'), ['B11 OK FETCH completed']);
  });

  test('RFC 5032: YOUNGER and OLDER count back from now on the internal date', async () => {
    assert.deepEqual(await c.command('SEARCH YOUNGER 86400', 'W1'), ['* SEARCH 3 4 5', 'W1 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH OLDER 86400', 'W2'), ['* SEARCH 1 2', 'W2 OK SEARCH completed']);
    assert.deepEqual(await c.command('SEARCH RETURN (COUNT) OLDER 86400 SEEN', 'W3'), ['* ESEARCH (TAG "W3") COUNT 1', 'W3 OK SEARCH completed']);
  });

  test('Python imaplib: ESEARCH, SAVE and "$", WITHIN', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.login(os.environ['USER'], os.environ['PASS'])
m.select('Searches')
typ, data = m._simple_command('UID', 'SEARCH', 'RETURN', '(COUNT MAX)', 'UNSEEN')
print(typ, m._untagged_response(typ, data, 'ESEARCH')[1][0].decode())
print(m.search(None, 'RETURN', '(SAVE)', 'YOUNGER', '86400')[0])
typ, data = m.fetch('$', '(UID)')
print(typ, len(data))
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const [esearch, saved, fetched] = out.trim().split('\n');
    assert.match(esearch!, new RegExp(`^OK \\(TAG "\\w+"\\) UID MAX ${uids[4]} COUNT 3$`));
    assert.equal(saved, 'OK');
    assert.equal(fetched, 'OK 3');
  });
});
