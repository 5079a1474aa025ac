// RFC 3516 BINARY with real clients: a multi-MiB base64 attachment fetched in BINARY.PEEK[2]<o.n>
// chunks by imapflow and by Python's imaplib must give back the original bytes exactly, while the
// server reads only the encoded lines each chunk needs; quoted-printable decoded; BINARY.SIZE;
// [UNKNOWN-CTE]; APPEND with a literal8.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { rawBlobKey, type BlobStore } from '../../../core/blobs.ts';
import { indexMessage, type BodyPart, type MessageIndex } from '../../../core/mime/index.ts';
import { ALICE, RawImap, runPython, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const ATTACHMENT = randomBytes(3 * 1024 * 1024 + 12_345);
const QP_TEXT = 'Caf\xe9 cr\xe8me, a long line that the encoder had to break softly somewhere in its middle.\r\nSecond line =\r\n';
const QP_ENCODED = 'Caf=E9 cr=E8me, a long line that the encoder had to break softly somewhere =\r\nin its middle.  \r\nSecond line =3D\r\n';

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

const MESSAGE = Buffer.from(
  [
    'From: Carol <carol@remote.test>',
    'To: Alice <alice@example.test>',
    'Subject: binary parts',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    QP_ENCODED,
    '--b1',
    'Content-Type: application/octet-stream; name="blob.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(ATTACHMENT),
    '--b1',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: x-uuencode',
    '',
    'begin 644 x',
    '--b1--',
    '',
  ].join('\r\n'),
  'latin1',
);

/** A blob store that records each range read. */
function recording(inner: Pick<BlobStore, 'put' | 'getRange' | 'getStream'>) {
  const reads: Array<{ start: number; end: number }> = [];
  return {
    reads,
    blobs: {
      put: inner.put.bind(inner),
      getStream: inner.getStream.bind(inner),
      async getRange(key: string, start: number, end: number) {
        reads.push({ start, end });
        return inner.getRange(key, start, end);
      },
    },
  };
}

/** The index as an item filed before the decoded layout was recorded has it. */
function withoutLayout(index: MessageIndex): MessageIndex {
  const strip = (part: BodyPart): BodyPart => {
    if (part.kind === 'multipart') return { ...part, parts: part.parts.map(strip) };
    const { decoded: _dropped, ...rest } = part;
    return rest;
  };
  return { ...index, body: strip(index.body) };
}

describe('IMAP BINARY (RFC 3516)', () => {
  let w: ImapWorld;
  let port: number;
  let reads: Array<{ start: number; end: number }>;
  let dir: string;
  before(async () => {
    w = await startImapWorld();
    const recorder = recording(w.blobs);
    reads = recorder.reads;
    port = (await w.startServer({ blobs: recorder.blobs })).ports.imap!;
    await w.deliver(ALICE.user, MESSAGE);
    // The same message as an item indexed before the layout was recorded: decoded whole.
    const key = rawBlobKey(randomUUID(), new Date());
    await w.blobs.put(key, MESSAGE);
    await w.store.mailStore.fileMessage({
      account: ALICE.user, mailbox: 'INBOX', deliveryKey: randomUUID(), blobKey: key, size: MESSAGE.length,
      internalDate: new Date().toISOString(), flags: [], index: withoutLayout(indexMessage(MESSAGE)),
    });
    dir = mkdtempSync(join(tmpdir(), 'binary-'));
    writeFileSync(join(dir, 'attachment'), ATTACHMENT);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await w?.close();
  });

  test('imapflow fetches a 3 MiB base64 attachment in BINARY.PEEK[2]<o.n> chunks: byte-exact, each chunk a ranged read of its lines', async (t) => {
    const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
    t.after(() => client.close());
    await client.connect();
    assert.ok(client.capabilities.has('BINARY'));
    const lock = await client.getMailboxLock('INBOX');
    try {
      const chunk = 1024 * 1024 - 7;
      const pieces: Buffer[] = [];
      reads.length = 0;
      for (let start = 0; start < ATTACHMENT.length; start += chunk) {
        const message = await client.fetchOne('1', { bodyParts: [{ key: '2', start, maxLength: chunk }] } as never, { binary: true });
        assert.ok(message && message.bodyParts);
        pieces.push(message.bodyParts.get('2')!);
      }
      assert.deepEqual(pieces.map((p, i) => [p.length, p.equals(ATTACHMENT.subarray(i * chunk, (i + 1) * chunk))]), [[chunk, true], [chunk, true], [chunk, true], [ATTACHMENT.length - 3 * chunk, true]]);
      assert.ok(Buffer.concat(pieces).equals(ATTACHMENT), 'the chunks put together are the attachment');
      const encodedPart = base64Lines(ATTACHMENT).length;
      const bodyReads = reads.filter((r) => r.end - r.start > 10_000);
      assert.equal(bodyReads.length, 4);
      // 57 decoded octets per 76-character line and its CRLF: the lines the chunk touches, no more.
      for (const r of bodyReads) assert.ok(r.end - r.start <= (Math.ceil(chunk / 57) + 1) * 78, `read ${r.end - r.start} octets of a ${encodedPart}-octet part for one chunk`);
    } finally {
      lock.release();
    }
    await client.logout();
  });

  test('Python imaplib: BINARY.SIZE, odd chunks of both items (with and without the recorded layout), quoted-printable decoded', async () => {
    const out = await runPython(
      `
import imaplib, os, re
m = imaplib.IMAP4('127.0.0.1', ${port})
m.login('${ALICE.user}', '${ALICE.password}')
m.select('INBOX', readonly=True)
original = open(os.environ['ATTACHMENT'], 'rb').read()
typ, data = m.fetch('1:2', '(BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[])')
print(typ, ' '.join(d.decode() for d in data))
for seq in ('1', '2'):
    for offset, length in ((0, 1), (57, 3), (1000001, 77777), (len(original) - 10, 100), (len(original) + 5, 10)):
        typ, data = m.fetch(seq, '(BINARY.PEEK[2]<%d.%d>)' % (offset, length))
        got = data[0][1] if isinstance(data[0], tuple) else b''
        print(seq, offset, got == original[offset:offset + length])
    typ, data = m.fetch(seq, '(BINARY.PEEK[2])')
    print(seq, 'whole', data[0][1] == original)
    typ, data = m.fetch(seq, '(BINARY.PEEK[1])')
    print(seq, 'qp', data[0][1].hex())
m.logout()
`,
      { ATTACHMENT: join(dir, 'attachment') },
    );
    const lines = out.trim().split('\n');
    const size = ATTACHMENT.length;
    assert.equal(lines[0], `OK 1 (BINARY.SIZE[1] ${Buffer.byteLength(QP_TEXT, 'latin1')} BINARY.SIZE[2] ${size} BINARY.SIZE[] ${MESSAGE.length}) 2 (BINARY.SIZE[1] ${Buffer.byteLength(QP_TEXT, 'latin1')} BINARY.SIZE[2] ${size} BINARY.SIZE[] ${MESSAGE.length})`);
    for (const seq of ['1', '2']) {
      const mine = lines.filter((l) => l.startsWith(`${seq} `));
      assert.deepEqual(mine.slice(0, 5).map((l) => l.split(' ')[2]), ['True', 'True', 'True', 'True', 'True'], mine.join('\n'));
      assert.equal(mine[5], `${seq} whole True`);
      assert.equal(mine[6], `${seq} qp ${Buffer.from(QP_TEXT, 'latin1').toString('hex')}`);
    }
  });

  test('raw: literal8 in the answer, [UNKNOWN-CTE], a missing part, BINARY[] is the message, BINARY sets \\Seen', async (t) => {
    const c = await RawImap.connect(port);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    await c.command('SELECT INBOX', 's');
    assert.deepEqual(await c.command('FETCH 1 (BINARY.PEEK[2]<0.3>)', 'a1'), [`* 1 FETCH (BINARY[2]<0> ~{3}\r\n${ATTACHMENT.subarray(0, 3).toString('utf8')})`, 'a1 OK FETCH completed']);
    assert.match((await c.command('FETCH 1 (BINARY.PEEK[3])', 'a2')).at(-1)!, /^a2 NO \[UNKNOWN-CTE\] /);
    assert.match((await c.command('FETCH 1 (BINARY.SIZE[3])', 'a3')).at(-1)!, /^a3 NO \[UNKNOWN-CTE\] /);
    assert.deepEqual(await c.command('FETCH 1 (BINARY.PEEK[9] BINARY.SIZE[9])', 'a4'), ['* 1 FETCH (BINARY[9] ~{0}\r\n BINARY.SIZE[9] 0)', 'a4 OK FETCH completed']);
    const whole = await c.command('FETCH 1 (BINARY.PEEK[]<0.40>)', 'a5');
    assert.equal(whole[0], `* 1 FETCH (BINARY[]<0> ~{40}\r\n${MESSAGE.subarray(0, 40).toString('latin1')})`);
    const seen = await c.command('FETCH 1 (BINARY[1]<0.4>)', 'a6');
    assert.match(seen[0]!, /^\* 1 FETCH \(BINARY\[1\]<0> ~\{4\}\r\nCaf. FLAGS \(\\Seen \\Recent\)\)$/);
  });

  test('APPEND with a literal8: stored when free of NUL, NO [UNKNOWN-CTE] with NUL (RFC 3516 §4.4)', async (t) => {
    const c = await RawImap.connect(port);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    const clean = Buffer.from('Subject: eight bit\r\nContent-Transfer-Encoding: binary\r\n\r\n\xff\xfe bytes\r\n', 'latin1');
    c.write(Buffer.concat([Buffer.from(`b1 APPEND INBOX ~{${clean.length}+}\r\n`), clean, Buffer.from('\r\n')]));
    assert.match((await c.until('b1')).at(-1)!, /^b1 OK \[APPENDUID \d+ \d+\]/);
    const nul = Buffer.from('Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\na\0b\r\n', 'latin1');
    c.write(`b2 APPEND INBOX ~{${nul.length}}\r\n`);
    assert.equal(await c.line(), '+ Ready for literal data');
    c.write(Buffer.concat([nul, Buffer.from('\r\n')]));
    assert.match((await c.until('b2')).at(-1)!, /^b2 NO \[UNKNOWN-CTE\] /);
  });
});
