// NUL octets (RFC 3501 §9: a literal is *CHAR8, and CHAR8 excludes NUL; only RFC 3516 literal8
// may carry it, and we offer no BINARY). APPEND with NUL is refused with NO [UNKNOWN-CTE]
// (RFC 3516 §4.4); a message that arrived by SMTP with NUL is served with each NUL as 0x80, the
// octet count unchanged, byte for byte what Dovecot serves for the same message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendViaImap, startDovecot, type Dovecot } from '../../helpers/dovecot.ts';
import { BulkClient, literals } from './helpers/bulk-client.ts';
import { ALICE, RawImap, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const taggedOk = (tag: string) => new RegExp(`\\r\\n${tag} OK[^\\r\\n]*\\r\\n$`);
const NUL = '\0';

/** A message with NUL in a header, in a small text part and in a body part above the streaming threshold. */
const withNul = Buffer.from(
  `From: Carol <carol@remote.test>\r\nTo: Alice <alice@example.test>\r\nSubject: a${NUL}b\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
    `--b1\r\nContent-Type: text/plain\r\n\r\nshort${NUL}text\r\n` +
    `--b1\r\nContent-Type: application/octet-stream\r\n\r\n${`line with a ${NUL} in it\r\n`.repeat(4000)}` +
    '--b1--\r\n',
  'latin1',
);
const served = Buffer.from(withNul.toString('latin1').replaceAll(NUL, '\x80'), 'latin1');

describe('NUL octets', () => {
  let w: ImapWorld;
  let dovecot: Dovecot;

  before(async () => {
    w = await startImapWorld();
    dovecot = await startDovecot({ users: { [ALICE.user]: ALICE.password } });
  });
  after(async () => {
    await dovecot?.stop();
    await w?.close();
  });

  test('APPEND of a message with NUL: NO [UNKNOWN-CTE], nothing stored', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    const [before] = await c.command('STATUS INBOX (MESSAGES)');
    const message = `Subject: x\r\n\r\nbinary${NUL}body\r\n`;
    c.write(`a APPEND INBOX {${message.length}}\r\n`);
    assert.match((await c.line())!, /^\+ /);
    c.write(`${message}\r\n`);
    assert.deepEqual(await c.until('a'), ['a NO [UNKNOWN-CTE] NUL octets must be sent in a Content-Transfer-Encoding (RFC 2045)']);
    assert.equal((await c.command('STATUS INBOX (MESSAGES)'))[0], before);
    // The same with LITERAL+: the data is read, the answer is the same, the session goes on.
    c.write(`b APPEND INBOX {${message.length}+}\r\n${message}\r\n`);
    assert.match((await c.until('b')).at(-1)!, /^b NO \[UNKNOWN-CTE\]/);
    assert.match((await c.command('NOOP')).at(-1)!, /OK NOOP/);
  });

  test('a message that arrived with NUL is served without NUL: 0x80 in its place, lengths unchanged, as Dovecot does', async (t) => {
    const uid = await w.deliver(ALICE.user, withNul);
    const [dovecotUid] = await appendViaImap(dovecot.ports.imap, ALICE.user, ALICE.password, [withNul]);
    const ours = await BulkClient.login(w.port, ALICE);
    const theirs = await BulkClient.login(dovecot.ports.imap, ALICE);
    t.after(() => {
      ours.close();
      theirs.close();
    });
    const items = 'BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]<0.200>';
    const response = await ours.exchange(`f UID FETCH ${uid} (RFC822.SIZE ${items} ENVELOPE)`, taggedOk('f'));
    assert.equal(response.indexOf(0), -1, 'no NUL anywhere in the response');
    const [whole, text, part2, subject, partial] = literals(response);
    assert.match(response.toString('latin1', 0, 120), new RegExp(`RFC822.SIZE ${withNul.length} `));
    assert.ok(whole?.equals(served), 'the whole message, NUL replaced, same length');
    assert.equal(text?.toString('latin1'), 'short\x80text');
    assert.ok(part2 && part2.length > 64 * 1024 && !part2.includes(0), 'the streamed part too');
    assert.equal(subject?.toString('latin1'), 'Subject: a\x80b\r\n\r\n');
    assert.ok(partial?.equals(served.subarray(0, 200)));
    // The MIME index drops NUL from header values, so ENVELOPE strings stay quotable.
    assert.match(response.toString('latin1'), /ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" "ab" /);

    const reference = await theirs.exchange(`d UID FETCH ${dovecotUid} (${items})`, taggedOk('d'));
    const [dWhole, dText, dPart2, dSubject, dPartial] = literals(reference);
    assert.ok(dWhole?.equals(whole!), 'BODY[] as Dovecot serves it');
    assert.ok(dText?.equals(text!));
    assert.ok(dPart2?.equals(part2!));
    assert.ok(dSubject?.equals(subject!));
    assert.ok(dPartial?.equals(partial!));
  });
});
