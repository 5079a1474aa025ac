// RFC 4978 COMPRESS=DEFLATE with real clients: Python's imaplib over a zlib-wrapped socket (each
// command one deflate block ended by a sync flush, the case that stalled mox's inflater), imapflow
// (which compresses by default), and a raw zlib client for the edges: literals split across
// flushes, bytes pipelined behind COMPRESS, a stream that does not inflate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw } from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { SocketReader } from '../../helpers/socket-reader.ts';
import { ALICE, RawImap, runPython, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';

const helpers = new URL('./helpers/', import.meta.url).pathname;
/** Python prelude: the DeflateIMAP4 client of helpers/deflate_imap.py, with a timeout so a stall fails instead of hanging. */
const prelude = `
import sys, ssl, socket, imaplib
sys.path.insert(0, ${JSON.stringify(helpers)})
from deflate_imap import DeflateIMAP4
socket.setdefaulttimeout(20)
`;

/** A compressed raw client: deflates what it writes (a sync flush per write), inflates what it reads. */
class DeflateRawClient {
  private readonly reader: SocketReader;
  private readonly deflater: DeflateRaw = createDeflateRaw({ windowBits: 15 });

  constructor(readonly socket: Socket) {
    const inflater = createInflateRaw({ windowBits: 15, flush: constants.Z_SYNC_FLUSH });
    socket.pipe(inflater);
    inflater.on('error', () => undefined);
    this.reader = new SocketReader(socket, inflater);
    this.deflater.pipe(socket);
  }

  /** Deflates `data` as one block ending in a sync flush. */
  send(data: string | Buffer): Promise<void> {
    this.deflater.write(data);
    return new Promise((resolve) => this.deflater.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  }

  /** Every line up to and including the one starting with `tag ` (a regular expression). */
  async until(tag: string): Promise<string[]> {
    const tagged = new RegExp(`(^|\\r\\n)${tag} [^\\r\\n]*\\r\\n`);
    const end = (b: Buffer) => {
      const text = b.toString('latin1');
      const at = text.search(tagged);
      return at === -1 ? -1 : text.indexOf('\r\n', at + (at === 0 ? 0 : 2)) + 2;
    };
    const bytes = await this.reader.take(end, `the answer tagged ${tag}`, 20_000);
    if (bytes === null) throw new Error(`closed before ${tag}; have ${JSON.stringify(this.reader.unread)}`);
    return bytes.toString('latin1').slice(0, -2).split('\r\n');
  }

  whenClosed(): Promise<void> {
    return this.reader.closed;
  }
}

/** Logs in on a raw connection and turns COMPRESS on; returns the compressed client. */
async function compressedSession(port: number): Promise<{ raw: RawImap; z: DeflateRawClient }> {
  const raw = await RawImap.connect(port);
  await raw.line();
  await raw.login(ALICE.user, ALICE.password);
  assert.deepEqual(await raw.command('COMPRESS DEFLATE', 'z0'), ['z0 OK DEFLATE active']);
  // From here RawImap must not read: the inflater takes the socket's bytes.
  raw.socket.removeAllListeners('data');
  return { raw, z: new DeflateRawClient(raw.socket) };
}

describe('IMAP COMPRESS=DEFLATE (RFC 4978)', () => {
  let w: ImapWorld;
  before(async () => {
    w = await startImapWorld();
    await w.deliver(ALICE.user, sampleMessage('compressed one', 'A body that compresses well. '.repeat(200) + '\r\n'));
  });
  after(async () => {
    await w?.close();
  });

  test('advertised after login; COMPRESS is refused before login and for an unknown mechanism', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    assert.match((await c.command('COMPRESS DEFLATE', 'a1'))[0]!, /^a1 BAD COMPRESS is not valid in this state/);
    await c.login(ALICE.user, ALICE.password);
    assert.match((await c.command('CAPABILITY', 'a2'))[0]!, / COMPRESS=DEFLATE( |$)/);
    assert.match((await c.command('COMPRESS GZIP', 'a3'))[0]!, /^a3 BAD /);
    assert.match((await c.command('COMPRESS', 'a4'))[0]!, /^a4 BAD /);
  });

  test('Python imaplib over zlib: each command one sync-flushed block is answered at once; a second COMPRESS is NO [COMPRESSIONACTIVE]', async () => {
    const out = await runPython(`${prelude}
m = DeflateIMAP4('127.0.0.1', ${w.port})
m.login('${ALICE.user}', '${ALICE.password}')
print(m.compress()[0])
typ, data = m.select('INBOX')
print(typ, data[0].decode())
typ, data = m.fetch('1', '(BODY.PEEK[])')
print(typ, len(data[0][1]), data[0][1].count(b'compresses well'))
print(m.raw_command('z1', b'COMPRESS DEFLATE')[-1])
print(m.raw_command('z2', b'NOOP')[-1])
# The bytes on the wire were deflate, never the cleartext of the message.
print(b'compresses well' in m.raw_received, len(m.raw_received) < len(data[0][1]))
# APPEND through imaplib: the literal goes in its own deflate blocks, after the "+".
body = b'From: p@y.test\\r\\nSubject: zipped\\r\\n\\r\\n' + b'zip ' * 5000 + b'\\r\\n'
print(m.append('INBOX', None, None, body)[0])
typ, data = m.uid('SEARCH', None, 'SUBJECT', 'zipped')
print(typ, data[0].decode())
m.logout()
`);
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'OK');
    assert.equal(lines[1], 'OK 1');
    assert.match(lines[2]!, /^OK \d+ 200$/);
    assert.equal(lines[3], 'z1 NO [COMPRESSIONACTIVE] DEFLATE active already');
    assert.equal(lines[4], 'z2 OK NOOP completed');
    assert.equal(lines[5], 'False True');
    assert.equal(lines[6], 'OK');
    assert.equal(lines[7], 'OK 2');
  });

  test('Python imaplib: STARTTLS first, then LOGIN, then COMPRESS over TLS', async () => {
    const out = await runPython(`${prelude}
m = DeflateIMAP4('127.0.0.1', ${w.port})
print(m.starttls(ssl_context=ssl._create_unverified_context())[0])
m.login('${ALICE.user}', '${ALICE.password}')
print(m.compress()[0])
print(m.select('INBOX', readonly=True)[0])
typ, data = m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
print(data[0][1].decode().strip())
m.logout()
`);
    assert.equal(out, 'OK\nOK\nOK\nSubject: compressed one\n');
  });

  test('IDLE under compression: an untagged EXISTS caused by another session arrives flushed', async () => {
    const out = await runPython(`${prelude}
m = DeflateIMAP4('127.0.0.1', ${w.port})
m.login('${ALICE.user}', '${ALICE.password}')
m.compress()
m.select('INBOX')
m.send(b'i1 IDLE\\r\\n')
print(m.readline().decode().strip())
other = imaplib.IMAP4('127.0.0.1', ${w.port})
other.login('${ALICE.user}', '${ALICE.password}')
other.append('INBOX', None, None, b'Subject: while idle\\r\\n\\r\\nhi\\r\\n')
other.logout()
# The EXISTS must come without us sending anything: a response held in the deflater would time out here.
line = m.readline().decode().strip()
while not line.endswith('EXISTS'):
    line = m.readline().decode().strip()
print(line)
m.send(b'DONE\\r\\n')
print(m.read_until('i1')[-1])
m.logout()
`);
    const lines = out.trim().split('\n');
    assert.equal(lines[0], '+ idling');
    assert.match(lines[1]!, /^\* \d+ EXISTS$/);
    assert.equal(lines[2], 'i1 OK IDLE terminated');
  });

  test('imapflow negotiates COMPRESS on its own and works through it (FETCH, APPEND, IDLE)', async (t) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: w.port, secure: false, auth: { user: ALICE.user, pass: ALICE.password }, logger: false, tls: { rejectUnauthorized: false } });
    t.after(() => client.close());
    await client.connect();
    assert.ok((client as unknown as { _inflate?: unknown })._inflate, 'imapflow turned compression on');
    const lock = await client.getMailboxLock('INBOX');
    try {
      const message = await client.fetchOne('1', { source: true, envelope: true });
      assert.ok(message);
      assert.equal(message.envelope?.subject, 'compressed one');
      assert.equal((message.source!.toString().match(/compresses well/g) ?? []).length, 200);
      const appended = await client.append('INBOX', sampleMessage('from imapflow', 'x'.repeat(100_000) + '\r\n'));
      assert.ok(appended && typeof appended !== 'boolean' && appended.uid);
      const exists = new Promise<number>((resolve) => client.on('exists', (e: { count: number }) => resolve(e.count)));
      const idling = client.idle();
      await w.deliver(ALICE.user, sampleMessage('seen in idle'));
      assert.ok((await exists) >= 3);
      const found = await client.search({ subject: 'seen in idle' }, { uid: true });
      assert.equal((found as number[]).length, 1);
      await idling.catch(() => undefined);
    } finally {
      lock.release();
    }
    await client.logout();
  });

  test('a literal split across deflate blocks, and a command line split mid-line, are framed whole', async (t) => {
    const { raw, z } = await compressedSession(w.port);
    t.after(() => raw.close());
    const message = sampleMessage('split literal', 'line of the body\r\n'.repeat(50));
    const bytes = Buffer.from(message);
    await z.send(`s1 APPEND INBOX {${bytes.length}+}\r\n`);
    await z.send(bytes.subarray(0, 100));
    await z.send(bytes.subarray(100, 700));
    await z.send(Buffer.concat([bytes.subarray(700), Buffer.from('\r\n')]));
    assert.match((await z.until('s1')).at(-1)!, /^s1 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
    // A synchronising literal: the "+" comes back compressed before the data is sent.
    await z.send(`s2 APPEND INBOX {${bytes.length}}\r\n`);
    await z.until('\\+');
    await z.send(Buffer.concat([bytes, Buffer.from('\r\n')]));
    assert.match((await z.until('s2')).at(-1)!, /^s2 OK \[APPENDUID/);
    await z.send('s3 SEL');
    await z.send('ECT INBOX\r\n');
    assert.match((await z.until('s3')).at(-1)!, /^s3 OK \[READ-WRITE\]/);
    await z.send('s4 SEARCH SUBJECT "split literal"\r\n');
    assert.match((await z.until('s4')).join('\n'), /\* SEARCH \d+ \d+\n/);
  });

  test('a few KiB that inflate to a 16 MiB line meet the same line limit as cleartext, and the session goes on', async (t) => {
    const { raw, z } = await compressedSession(w.port);
    t.after(() => raw.close());
    await z.send(`b1 SEARCH SUBJECT ${'x'.repeat(16 * 1024 * 1024)}\r\n`);
    assert.match((await z.until('b1')).at(-1)!, /^b1 BAD Command line too long$/);
    await z.send('b2 NOOP\r\n');
    assert.deepEqual(await z.until('b2'), ['b2 OK NOOP completed']);
  });

  test('bytes pipelined behind COMPRESS in cleartext are dropped; a stream that does not inflate closes the connection', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    await c.login(ALICE.user, ALICE.password);
    c.write('p1 COMPRESS DEFLATE\r\np2 NOOP\r\n');
    assert.equal(await c.line(), 'p1 OK DEFLATE active');
    c.socket.removeAllListeners('data');
    const z = new DeflateRawClient(c.socket);
    await z.send('p3 NOOP\r\n');
    assert.deepEqual(await z.until('p3'), ['p3 OK NOOP completed']);

    const d = await compressedSession(w.port);
    t.after(() => d.raw.close());
    d.raw.socket.write(Buffer.from('this is not deflate data\r\n'.repeat(4)));
    await d.z.whenClosed();
  });
});
