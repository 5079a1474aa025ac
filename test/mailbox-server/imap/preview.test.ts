// PREVIEW (RFC 8970): the text of the first text part, decoded (transfer encoding, charset, HTML),
// whitespace collapsed, at most 200 characters, from one read of at most PREVIEW_READ_OCTETS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexMessage } from '../../../core/mime/index.ts';
import { PREVIEW_READ_OCTETS, previewPart, previewRange, previewText } from '../../../core/mime/preview.ts';
import { ALICE, runPython, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

const MESSAGES = [
  // 1: quoted-printable, Latin-1
  crlf(`From: a@x.test\nSubject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe aus\n  K=F6ln =\nund Bonn\n`),
  // 2: an HTML part only, base64
  crlf(`From: a@x.test\nSubject: html\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${Buffer.from('<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>world</b> &amp; caf\u00e9</p></body></html>').toString('base64')}\n`),
  // 3: multipart/alternative: the text/plain part wins; an attachment is never the preview
  crlf(`From: a@x.test\nSubject: alt\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; name=a.txt\nContent-Disposition: attachment\n\nattached\n--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\nContent-Type: text/html\n\n<p>html</p>\n--c\nContent-Type: text/plain\n\nplain text\n--c--\n--b--\n`),
  // 4: no text part at all
  crlf(`From: a@x.test\nSubject: image\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n`),
  // 5: a megabyte of base64 text: only the start is read
  crlf(`From: a@x.test\nSubject: big\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${Buffer.from('word '.repeat(200_000)).toString('base64').replace(/.{76}/g, '$&\n')}\n`),
];

describe('PREVIEW', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
    await w.store.mailStore.createMailbox(ALICE.user, 'Previews');
    for (const raw of MESSAGES) await w.deliver(ALICE.user, raw, { mailbox: 'Previews' });
  });
  after(async () => {
    await w?.close();
  });

  test('the read is bounded and a cut base64 quantum or character is not shown', () => {
    const raw = Buffer.from(MESSAGES[4]!);
    const part = previewPart(indexMessage(raw).body)!;
    const range = previewRange(part);
    assert.equal(range.end - range.start, PREVIEW_READ_OCTETS);
    const text = previewText(part, raw.subarray(range.start, range.end));
    assert.equal(text, 'word '.repeat(40).trim());
  });

  test('Python imaplib FETCH PREVIEW and PREVIEW (LAZY)', async () => {
    const out = await runPython(
      `
import imaplib, os
m = imaplib.IMAP4('127.0.0.1', int(os.environ['PORT']))
m.login(os.environ['USER'], os.environ['PASS'])
m.select('Previews')
typ, data = m.fetch('1:5', '(PREVIEW)')
for item in data:
    print(repr(item))
print(m.fetch('2', '(PREVIEW (LAZY))')[1][0])
print(m.capabilities.count('PREVIEW'))
m.logout()
`,
      { PORT: String(w.port), USER: ALICE.user, PASS: ALICE.password },
    );
    const text = out.trim();
    assert.match(text, /Gr\\xc3\\xbc\\xc3\\x9fe aus K\\xc3\\xb6ln und Bonn/);
    assert.match(text, /Hello world & caf\\xc3\\xa9/);
    assert.match(text, /plain text/);
    assert.doesNotMatch(text, /attached/);
    assert.match(text, /b'4 \(PREVIEW ""\)'|b'4 \(PREVIEW \{0\}'/);
    assert.match(text, /b'5 \(PREVIEW \{199\}', b'word word/);
    assert.ok(text.endsWith('1'));
  });
});
