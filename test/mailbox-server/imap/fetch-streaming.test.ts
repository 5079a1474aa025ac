// FETCH of a 20 MB attachment (RFC 3501 §6.4.5 BODY[section]<partial>): byte-exact whole and in
// chunks, streamed from S3 into the literal (never a ranged read of the whole section into memory),
// paced by a slow client, and a blob failing mid-literal closes only that connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { BlobStore } from '../../../core/blobs.ts';
import { STREAM_ABOVE_OCTETS } from '../../../mailbox-server/imap/fetch-response.ts';
import { BulkClient, literals } from './helpers/bulk-client.ts';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

const MB = 1024 * 1024;

/** The server's blob store, watched: what was read whole, and how far each stream has been pulled. */
class SpyBlobs {
  readonly ranges: number[] = [];
  readonly streams: Array<{ length: number; pulled: number }> = [];
  failNextStreamAfter: number | null = null;
  constructor(private readonly inner: BlobStore) {}

  put(key: string, body: Readable | Buffer) {
    return this.inner.put(key, body);
  }
  getRange(key: string, start: number, end: number) {
    this.ranges.push(end - start);
    return this.inner.getRange(key, start, end);
  }
  async getStream(key: string, range: { start: number; end: number }): Promise<Readable> {
    const source = await this.inner.getStream(key, range);
    const seen = { length: range.end - range.start, pulled: 0 };
    this.streams.push(seen);
    const failAfter = this.failNextStreamAfter;
    this.failNextStreamAfter = null;
    // Counts what the server has taken from S3; a small buffer so the count tracks the socket.
    const counted = new PassThrough({ highWaterMark: 16 * 1024 });
    source.on('data', (chunk: Buffer) => {
      seen.pulled += chunk.length;
      if (failAfter !== null && seen.pulled > failAfter) {
        source.destroy();
        counted.destroy(new Error('S3 connection reset (test)'));
        return;
      }
      if (!counted.write(chunk)) source.pause();
    });
    counted.on('drain', () => source.resume());
    source.on('end', () => counted.end());
    source.on('error', (err) => counted.destroy(err));
    counted.on('close', () => source.destroy());
    return counted;
  }
}

const taggedOk = (tag: string) => new RegExp(`\\r\\n${tag} OK[^\\r\\n]*\\r\\n$`);

describe('FETCH streams large bodies', () => {
  let w: ImapWorld;
  let spy: SpyBlobs;
  let port: number;
  let raw: Buffer;
  let attachment: Buffer;
  const errors: string[] = [];

  before(async () => {
    w = await startImapWorld();
    spy = new SpyBlobs(w.blobs);
    const server = await w.startServer({
      blobs: spy,
      log: { info() {}, warn() {}, error: (event) => errors.push(event) },
    });
    port = server.ports.imap!;
    // multipart/mixed: a short text part and ~20 MB of base64 (76-character lines).
    const base64 = randomBytes(15 * MB).toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\r\n$/, '');
    attachment = Buffer.from(base64, 'latin1');
    raw = Buffer.concat([
      Buffer.from(
        'From: Carol <carol@remote.test>\r\nTo: Alice <alice@example.test>\r\nSubject: big\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n' +
          'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
          '--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n' +
          '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      ),
      attachment,
      Buffer.from('\r\n--b1--\r\n'),
    ]);
    await w.deliver(ALICE.user, raw);
    await w.deliver(ALICE.user, sampleMessage('small one'));
  });
  after(async () => {
    await w?.close();
  });

  const reset = () => {
    spy.ranges.length = 0;
    spy.streams.length = 0;
  };
  const noBigRangeRead = () =>
    assert.ok(spy.ranges.every((n) => n <= STREAM_ABOVE_OCTETS), `buffered reads: ${JSON.stringify(spy.ranges)}`);

  test('BODY.PEEK[] of the 20 MB message is byte-exact and streamed, not buffered', async (t) => {
    const client = await BulkClient.login(port, ALICE);
    t.after(() => client.close());
    reset();
    const response = await client.exchange('f UID FETCH 1 (BODY.PEEK[])', taggedOk('f'));
    const [body] = literals(response);
    assert.equal(body?.length, raw.length);
    assert.ok(body.equals(raw), 'byte-identical');
    assert.deepEqual(spy.streams.map((s) => s.length), [raw.length]);
    // Client and server share this process, so memory figures would mix both: the spy is the proof
    // that the section never sat in one buffer (the streaming test below bounds what is in flight).
    noBigRangeRead();
  });

  test('the attachment in 4 MB partials (BODY[2]<n.m>) and RFC822 agree with the stored bytes', async (t) => {
    const client = await BulkClient.login(port, ALICE);
    t.after(() => client.close());
    reset();
    const chunk = 4 * MB;
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < attachment.length; offset += chunk) {
      const response = await client.exchange(`p${offset} UID FETCH 1 (BODY.PEEK[2]<${offset}.${chunk}>)`, taggedOk(`p${offset}`));
      assert.match(response.toString('latin1', 0, 80), new RegExp(`BODY\\[2\\]<${offset}> \\{${Math.min(chunk, attachment.length - offset)}\\}`));
      pieces.push(literals(response)[0]!);
    }
    assert.ok(Buffer.concat(pieces).equals(attachment), 'chunks reassemble to the part');
    // A partial past the end is empty (RFC 3501 §6.4.5).
    const past = await client.exchange(`e UID FETCH 1 (BODY.PEEK[2]<${attachment.length + 10}.100>)`, taggedOk('e'));
    assert.match(past.toString('latin1'), /BODY\[2\]<\d+> (""|\{0\}\r\n)\)/);
    const rfc822 = await client.exchange('r UID FETCH 1 (RFC822 BODY.PEEK[1])', taggedOk('r'));
    const [whole, text] = literals(rfc822);
    assert.ok(whole?.equals(raw));
    assert.equal(text?.toString(), 'See attached.');
    assert.ok(spy.streams.length >= 5);
    noBigRangeRead();
  });

  test('back-pressure: a client that stops reading stalls the S3 read; it still gets every byte', async (t) => {
    const client = await BulkClient.login(port, ALICE);
    t.after(() => client.close());
    reset();
    client.socket.pause();
    client.socket.write('b UID FETCH 1 (BODY.PEEK[])\r\n');
    // Wait until the server has pulled what the socket buffers can hold and stopped: no event
    // says "stopped", so two looks 50 ms apart that agree stand for it.
    let last = -1;
    const pulled = await eventually(() => {
      const now = spy.streams[0]?.pulled ?? 0;
      const stopped = now > 0 && now === last;
      last = now;
      return stopped ? now : undefined;
    }, 'the S3 read to stall while the client reads nothing', 5_000, 50);
    t.diagnostic(`pulled from S3 while the client read nothing: ${pulled} of ${raw.length} octets`);
    assert.ok(pulled > 0, 'the stream started');
    assert.ok(pulled < raw.length / 2, `pulled ${pulled} of ${raw.length} octets while the client read nothing`);
    // Read slowly: pause briefly every ~2 MB.
    let next = 2 * MB;
    const pacer = () => {
      if (client.bytesReceived < next) return;
      next += 2 * MB;
      client.socket.pause();
      setTimeout(() => client.socket.resume(), 20);
    };
    client.socket.on('data', pacer);
    client.socket.resume();
    const response = await client.exchange(null, taggedOk('b'));
    client.socket.off('data', pacer);
    assert.ok(literals(response)[0]?.equals(raw), 'byte-exact after stalls');
  });

  test('a blob that fails mid-literal closes that connection (no BYE can be sent inside a literal); others go on', async (t) => {
    const victim = await BulkClient.login(port, ALICE);
    const bystander = await RawImap.connect(port);
    t.after(() => {
      victim.close();
      bystander.close();
    });
    reset();
    errors.length = 0;
    spy.failNextStreamAfter = 3 * MB;
    const response = await victim.exchange('x UID FETCH 1 (BODY.PEEK[])', /x OK[^\r\n]*\r\n$/);
    assert.ok(victim.closed, 'connection closed');
    assert.match(response.toString('latin1', 0, 64), new RegExp(`\\{${raw.length}\\}\\r\\n`));
    assert.ok(response.length < raw.length, 'the literal was cut short');
    assert.ok(!/\r\nx (OK|NO|BAD)/.test(response.toString('latin1', response.length - 200)), 'no tagged answer after a broken literal');
    assert.ok(errors.includes('imap.literal-aborted'), `logged: ${errors.join(', ')}`);

    await bystander.line();
    await bystander.login(ALICE.user, ALICE.password);
    await bystander.command('SELECT INBOX');
    const lines = await bystander.command('UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])');
    assert.equal(lines[0], '* 2 FETCH (UID 2 BODY[HEADER.FIELDS (Subject)] {22}\r\nSubject: small one\r\n\r\n)');
  });
});
