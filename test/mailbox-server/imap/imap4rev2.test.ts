// IMAP4rev2 (RFC 9051) beside IMAP4rev1: the same server answers a session that sent
// ENABLE IMAP4rev2 the rev2 way and every other session as before (docs/decisions/0021-imap4rev2.md).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, RawImap, runPython, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

/** RFC 9051 §7.2.2 / Appendix E: what an IMAP4rev2 server must offer (LITERAL+ includes LITERAL-, RFC 7888 §4). */
const rev2Base = ['IMAP4rev2', 'IMAP4rev1', 'NAMESPACE', 'UNSELECT', 'UIDPLUS', 'ESEARCH', 'SEARCHRES', 'ENABLE', 'IDLE', 'SASL-IR', 'LIST-EXTENDED', 'LIST-STATUS', 'MOVE', 'LITERAL+', 'SPECIAL-USE', 'STATUS=SIZE', 'BINARY'];

describe('IMAP4rev2 beside IMAP4rev1', () => {
  let w: ImapWorld;
  const uids: number[] = [];
  before(async () => {
    w = await startImapWorld();
    await w.store.mailStore.createMailbox(ALICE.user, 'Work');
    // A name that exists only as the superior of another (the store does not create superiors).
    await w.store.mailStore.createMailbox(ALICE.user, 'Orphan/Child');
    for (let i = 1; i <= 3; i++) uids.push(await w.deliver(ALICE.user, sampleMessage(`message ${i}`), { mailbox: 'Work', flags: i === 2 ? ['\\Seen', '\\Deleted'] : [] }));
  });
  after(async () => {
    await w?.close();
  });

  async function session(rev2: boolean): Promise<RawImap> {
    const c = await RawImap.connect(w.port);
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    if (rev2) assert.deepEqual(await c.command('ENABLE IMAP4rev2', 'E1'), ['* ENABLED IMAP4rev2', 'E1 OK ENABLE completed']);
    return c;
  }

  test('the greeting and CAPABILITY offer IMAP4rev2 and every capability rev2 makes base', async () => {
    const c = await RawImap.connect(w.port);
    try {
      const greeting = (await c.line())!;
      assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 /);
      await c.login(ALICE.user, ALICE.password);
      const caps = (await c.command('CAPABILITY'))[0]!.split(' ').slice(2);
      for (const cap of rev2Base) assert.ok(caps.includes(cap), `${cap} missing from ${caps.join(' ')}`);
      // RFC 5161 §3.1: enabling twice answers with nothing new.
      await c.command('ENABLE IMAP4rev2');
      assert.deepEqual(await c.command('ENABLE IMAP4rev2 CONDSTORE', 'E2'), ['* ENABLED CONDSTORE', 'E2 OK ENABLE completed']);
    } finally {
      c.close();
    }
  });

  test('RFC 9051 §6.3.2: SELECT has no RECENT and no UNSEEN code, has the LIST response, and [CLOSED] on reselect', async () => {
    const c = await session(true);
    try {
      const lines = await c.command('SELECT Work', 'S1');
      assert.ok(!lines.some((l) => / RECENT$/.test(l) || /\[UNSEEN /.test(l)), lines.join('\n'));
      assert.ok(lines.includes('* 3 EXISTS'));
      assert.ok(lines.includes('* LIST (\\HasNoChildren) "/" "Work"'), lines.join('\n'));
      assert.equal(lines.at(-1), 'S1 OK [READ-WRITE] SELECT completed');
      const again = await c.command('EXAMINE INBOX', 'S2');
      assert.match(again[0]!, /^\* OK \[CLOSED\] /);
      assert.ok(again.includes('* LIST (\\HasNoChildren) "/" "INBOX"'), again.join('\n'));
    } finally {
      c.close();
    }
    // An IMAP4rev1 session still gets RFC 3501's answer.
    const old = await session(false);
    try {
      const lines = await old.command('SELECT Work');
      assert.ok(lines.some((l) => /^\* \d+ RECENT$/.test(l)) && lines.includes('* OK [UNSEEN 1] First unseen'), lines.join('\n'));
      assert.ok(!lines.some((l) => l.startsWith('* LIST') || l.includes('[CLOSED]')));
      assert.ok(!(await old.command('SELECT INBOX')).some((l) => l.includes('[CLOSED]')));
    } finally {
      old.close();
    }
  });

  test('RFC 9051 §6.4.4: SEARCH answers ESEARCH without RETURN; RECENT, NEW, OLD are not rev2 keys', async () => {
    const c = await session(true);
    try {
      await c.command('SELECT Work');
      assert.deepEqual(await c.command('SEARCH UNSEEN', 'A1'), ['* ESEARCH (TAG "A1") ALL 1,3', 'A1 OK SEARCH completed']);
      assert.deepEqual(await c.command('UID SEARCH ALL', 'A2'), [`* ESEARCH (TAG "A2") UID ALL ${uids[0]}:${uids[2]}`, 'A2 OK UID SEARCH completed']);
      assert.deepEqual(await c.command('SEARCH KEYWORD $Nothing', 'A3'), ['* ESEARCH (TAG "A3")', 'A3 OK SEARCH completed']);
      // RFC 9051 §6.4.5: FETCH BINARY is base in rev2.
      assert.match((await c.command('FETCH 1 (BINARY.SIZE[1])', 'A0'))[0]!, /^\* 1 FETCH \(BINARY\.SIZE\[1\] \d+\)$/);
      assert.deepEqual(await c.command('SEARCH RETURN (COUNT) ALL', 'A4'), ['* ESEARCH (TAG "A4") COUNT 3', 'A4 OK SEARCH completed']);
      // SEARCHRES is base: SAVE alone still answers no ESEARCH (RFC 9051 §6.4.4.1).
      assert.deepEqual(await c.command('SEARCH RETURN (SAVE) SEEN', 'A5'), ['A5 OK SEARCH completed']);
      assert.deepEqual(await c.command('FETCH $ (UID)', 'A6'), [`* 2 FETCH (UID ${uids[1]})`, 'A6 OK FETCH completed']);
      for (const key of ['RECENT', 'NEW', 'OLD', 'NOT OLD', 'OR SEEN NEW']) assert.match((await c.command(`SEARCH ${key}`, 'B1')).at(-1)!, /^B1 BAD /, key);
      assert.match((await c.command('SORT (ARRIVAL) UTF-8 RECENT', 'B2')).at(-1)!, /^B2 BAD /);
    } finally {
      c.close();
    }
    const old = await session(false);
    try {
      await old.command('SELECT Work');
      assert.deepEqual(await old.command('SEARCH UNSEEN', 'A1'), ['* SEARCH 1 3', 'A1 OK SEARCH completed']);
      // RFC 8437 §3: UNAUTHENTICATE forgets ENABLE, so a rev2 session logged in again is rev1.
      await old.command('ENABLE IMAP4rev2');
      assert.match((await old.command('UNAUTHENTICATE', 'A3')).at(-1)!, /^A3 OK/);
      await old.login(ALICE.user, ALICE.password);
      await old.command('SELECT Work');
      assert.deepEqual(await old.command('SEARCH UNSEEN', 'A4'), ['* SEARCH 1 3', 'A4 OK SEARCH completed']);
      assert.match((await old.command('SEARCH RECENT', 'A2'))[0]!, /^\* SEARCH/);
    } finally {
      old.close();
    }
  });

  test('RFC 9051 §6.3.11: STATUS SIZE and DELETED; no RECENT item in rev2, in STATUS or LIST-STATUS', async () => {
    const c = await session(true);
    try {
      const lines = await c.command('STATUS Work (MESSAGES DELETED SIZE UNSEEN)', 'T1');
      assert.match(lines[0]!, /^\* STATUS "Work" \(MESSAGES 3 DELETED 1 SIZE \d+ UNSEEN 2\)$/);
      assert.match((await c.command('STATUS Work (MESSAGES RECENT)', 'T2')).at(-1)!, /^T2 BAD /);
      assert.match((await c.command('LIST "" Work RETURN (STATUS (RECENT))', 'T3')).at(-1)!, /^T3 BAD /);
    } finally {
      c.close();
    }
    const old = await session(false);
    try {
      assert.deepEqual(await old.command('STATUS Work (RECENT)', 'T1'), ['* STATUS "Work" (RECENT 0)', 'T1 OK STATUS completed']);
    } finally {
      old.close();
    }
  });

  test('RFC 9051 §7.3.1: \\NonExistent for a name with no mailbox; OLDNAME after RENAME; [HASCHILDREN] on DELETE', async () => {
    const c = await session(true);
    const old = await session(false);
    try {
      assert.deepEqual(await c.command('LIST "" Orphan', 'L1'), ['* LIST (\\NonExistent \\HasChildren) "/" "Orphan"', 'L1 OK LIST completed']);
      assert.deepEqual(await old.command('LIST "" Orphan', 'L1'), ['* LIST (\\Noselect \\HasChildren) "/" "Orphan"', 'L1 OK LIST completed']);
      assert.match((await c.command('CREATE Projects/Alpha', 'R1')).at(-1)!, /^R1 OK /);
      assert.deepEqual(await c.command('RENAME Projects/Alpha Projects/Beta', 'R2'), ['* LIST (\\HasNoChildren) "/" "Projects/Beta" ("OLDNAME" ("Projects/Alpha"))', 'R2 OK RENAME completed']);
      assert.deepEqual(await old.command('RENAME Projects/Beta Projects/Gamma', 'R3'), ['R3 OK RENAME completed']);
      assert.match((await c.command('DELETE Projects', 'R4')).at(-1)!, /^R4 NO \[HASCHILDREN\] /);
      assert.match((await old.command('DELETE Projects', 'R5')).at(-1)!, /^R5 NO \[INUSE\] /);
      // RFC 5530 codes rev2 folds in, as both versions answer them.
      assert.match((await c.command('RENAME Work INBOX', 'R6')).at(-1)!, /^R6 NO \[ALREADYEXISTS\] /);
      assert.match((await c.command('SELECT Nowhere', 'R7')).at(-1)!, /^R7 NO \[NONEXISTENT\] /);
      await c.command('SELECT Work');
      assert.match((await c.command('COPY 1 Nowhere', 'R8')).at(-1)!, /^R8 NO \[TRYCREATE\] /);
    } finally {
      c.close();
      old.close();
    }
  });

  test('RFC 9051 Appendix E: no \\Recent for a rev2 session, and a rev2 SELECT takes it from no rev1 session', async () => {
    await w.store.mailStore.createMailbox(ALICE.user, 'Fresh');
    await w.deliver(ALICE.user, sampleMessage('new'), { mailbox: 'Fresh' });
    const c = await session(true);
    try {
      const lines = await c.command('SELECT Fresh');
      assert.ok(!lines.some((l) => l.includes('RECENT') || l.includes('\\Recent')), lines.join('\n'));
      assert.deepEqual(await c.command('FETCH 1 (FLAGS)', 'F1'), ['* 1 FETCH (FLAGS ())', 'F1 OK FETCH completed']);
      await w.deliver(ALICE.user, sampleMessage('newer'), { mailbox: 'Fresh' });
      const noop = await c.command('NOOP', 'F2');
      assert.ok(noop.includes('* 2 EXISTS') && !noop.some((l) => l.includes('RECENT')), noop.join('\n'));
    } finally {
      c.close();
    }
    // Both messages are still new to the first IMAP4rev1 session that selects the mailbox.
    const old = await session(false);
    try {
      assert.ok((await old.command('SELECT Fresh')).includes('* 2 RECENT'));
      assert.deepEqual(await old.command('FETCH 1 (FLAGS)', 'F3'), ['* 1 FETCH (FLAGS (\\Recent))', 'F3 OK FETCH completed']);
    } finally {
      old.close();
    }
  });

  test('RFC 9051 §5.1: a rev2 session names mailboxes in UTF-8, a rev1 session in modified UTF-7', async () => {
    const c = await session(true);
    const old = await session(false);
    try {
      assert.match((await c.command('CREATE "Caf\u00e9"', 'U1')).at(-1)!, /^U1 OK /);
      assert.deepEqual(await c.command('LIST "" "Caf\u00e9"', 'U2'), ['* LIST (\\HasNoChildren) "/" "Caf\u00e9"', 'U2 OK LIST completed']);
      assert.deepEqual(await old.command('LIST "" "Caf&AOk-"', 'U3'), ['* LIST (\\HasNoChildren) "/" "Caf&AOk-"', 'U3 OK LIST completed']);
      assert.ok((await c.command('SELECT "Caf\u00e9"')).includes('* LIST (\\HasNoChildren) "/" "Caf\u00e9"'));
    } finally {
      c.close();
      old.close();
    }
  });

  test('Python imaplib with raw commands: ENABLE IMAP4rev2, then ESEARCH and SELECT as rev2', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
print('IMAP4REV2' in m.capabilities)
m.login(os.environ['USER'], os.environ['PASS'])
typ, data = m.enable('IMAP4rev2')
print(typ, m.untagged_responses.pop('ENABLED')[0].decode())
typ, data = m.select('Work')
print(typ, 'RECENT' in m.untagged_responses, 'LIST' in m.untagged_responses)
typ, data = m._simple_command('SEARCH', 'UNSEEN')
print(typ, m._untagged_response(typ, data, 'ESEARCH')[1][0].decode())
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const [advertised, enabled, selected, esearch] = out.trim().split('\n');
    assert.equal(advertised, 'True');
    assert.equal(enabled, 'OK IMAP4rev2');
    assert.equal(selected, 'OK False True');
    assert.match(esearch!, /^OK \(TAG "\w+"\) ALL 1,3$/);
  });

  test('imapflow enables IMAP4rev2 by itself and searches, opens and lists as a rev2 client', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, doSTARTTLS: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false });
    await client.connect();
    try {
      assert.ok(client.enabled.has('IMAP4REV2') || client.enabled.has('IMAP4rev2'), [...client.enabled].join(' '));
      const box = await client.mailboxOpen('Work');
      assert.equal(box.exists, 3);
      assert.deepEqual(await client.search({ seen: false }), [1, 3]);
      assert.deepEqual(await client.search({ seen: false }, { uid: true }), [uids[0], uids[2]]);
      const status = await client.status('Work', { messages: true, unseen: true });
      assert.ok(status);
      assert.deepEqual([status.messages, status.unseen], [3, 2]);
      const listed = await client.list();
      assert.ok(listed.some((m) => m.path === 'Work'));
    } finally {
      await client.logout();
    }
  });
});
