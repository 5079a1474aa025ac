// LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), CREATE-SPECIAL-USE (RFC 6154) and STATUS=SIZE
// (RFC 8438) with real clients: imapflow's list() takes LIST-STATUS when offered, Python imaplib
// sends CREATE with USE and the extended LIST forms as raw commands.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ALICE, RawImap, runPython, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

describe('LIST-EXTENDED, LIST-STATUS, CREATE-SPECIAL-USE, STATUS=SIZE', () => {
  let w: ImapWorld;
  let size = 0;
  before(async () => {
    w = await startImapWorld();
    for (const name of ['Feeds', 'Feeds/News', 'Feeds/News/Old']) await w.store.mailStore.createMailbox(ALICE.user, name);
    for (const name of ['Feeds', 'Feeds/News']) await w.store.mailStore.subscribe(ALICE.user, name, false);
    const message = sampleMessage('counted');
    size = Buffer.byteLength(message);
    await w.deliver(ALICE.user, message, { mailbox: 'Feeds/News' });
  });
  after(async () => {
    await w?.close();
  });

  test('imapflow lists with STATUS in one command (LIST-STATUS)', async () => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, doSTARTTLS: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false });
    await client.connect();
    try {
      assert.ok(client.capabilities.has('LIST-STATUS') && client.capabilities.has('LIST-EXTENDED'));
      const listed = await client.list({ statusQuery: { messages: true, unseen: true } });
      const news = listed.find((m) => m.path === 'Feeds/News');
      assert.deepEqual([news?.status?.messages, news?.status?.unseen], [1, 1]);
      const sent = listed.find((m) => m.path === 'Sent');
      assert.equal(sent?.specialUse, '\\Sent');
    } finally {
      await client.logout();
    }
  });

  test('RFC 5258 selection options and CHILDINFO; RFC 8438 SIZE', async () => {
    const c = await RawImap.connect(w.port);
    try {
      await c.line();
      await c.login(ALICE.user, ALICE.password);
      // §3.5: Feeds is not subscribed, but a descendant that "%" does not reach is.
      assert.deepEqual(await c.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Feeds%"', 'A1'), ['* LIST (\\HasChildren) "/" "Feeds" ("CHILDINFO" ("SUBSCRIBED"))', 'A1 OK LIST completed']);
      assert.deepEqual(await c.command('LIST (SUBSCRIBED) "" "Feeds*"', 'A2'), ['* LIST (\\HasNoChildren \\Subscribed) "/" "Feeds/News/Old"', 'A2 OK LIST completed']);
      assert.match((await c.command('LIST (RECURSIVEMATCH) "" "*"', 'A3'))[0]!, /^A3 BAD /);
      assert.match((await c.command('LIST (BOGUS) "" "*"', 'A4'))[0]!, /^A4 BAD /);
      assert.deepEqual(await c.command('LIST "" ("Feeds" "Feeds/News") RETURN (SUBSCRIBED)', 'A5'), ['* LIST (\\HasChildren) "/" "Feeds"', '* LIST (\\HasChildren) "/" "Feeds/News"', 'A5 OK LIST completed']);
      assert.deepEqual(await c.command('STATUS Feeds/News (SIZE MESSAGES)', 'A6'), [`* STATUS "Feeds/News" (SIZE ${size} MESSAGES 1)`, 'A6 OK STATUS completed']);
      const caps = (await c.command('CAPABILITY', 'A7'))[0]!;
      for (const cap of ['LIST-EXTENDED', 'LIST-STATUS', 'CREATE-SPECIAL-USE', 'STATUS=SIZE']) assert.match(caps, new RegExp(` ${cap}( |$)`));
    } finally {
      c.close();
    }
  });

  test('Python imaplib: CREATE with USE, then LIST (SPECIAL-USE)', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.login(os.environ['USER'], os.environ['PASS'])
print(m._simple_command('CREATE', 'Keep', '(USE (\\\\Archive))')[0])
typ, data = m._simple_command('CREATE', 'Everything', '(USE (\\\\All))')
print(typ, m.response('USEATTR')[0])
typ, data = m._simple_command('LIST', '(SPECIAL-USE)', '""', 'Keep')
print(m._untagged_response(typ, data, 'LIST')[1][0].decode())
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    // imaplib files a response code under its name: USEATTR answered the \All request.
    assert.deepEqual(out.trim().split('\n'), ['OK', 'NO USEATTR', '(\\HasNoChildren \\Archive) "/" "Keep"']);
  });
});
