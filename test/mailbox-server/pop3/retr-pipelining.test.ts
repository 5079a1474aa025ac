// RFC 2449 §6.6 PIPELINING with RFC 1939 §7 RETR: a client sends RETR 1 ... RETR n in one go. The
// server reads the bodies queued behind the running RETR ahead of their turn (small ones, within
// the session's read budget), yet answers one command after another, in order, byte-exact and
// dot-stuffed; a DELE or a bad RETR in the stream keeps its place. With the task's body cache, a
// second session's RETR of the same message costs no S3 read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchedBlobs } from '../../helpers/watched-blobs.ts';
import { randomBytes } from 'node:crypto';
import { DEFAULT_BLOB_READ_LIMITS } from '../../../core/blob-read-budget.ts';
import { BodyCache } from '../../../core/body-cache.ts';
import { READ_WHOLE_UP_TO_OCTETS } from '../../../mailbox-server/pop3/retr-read-ahead.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';
import { crlf, PASSWORD, RawPop3, startPop3Rig, type Pop3Rig } from './helpers.ts';

const KiB = 1024;

/** A message of about `octets` octets whose body has lines that need dot-stuffing (RFC 1939 §3). */
function message(name: string, octets: number): Buffer {
  const lines = [`Subject: ${name}`, '', '.a line that starts with a dot', '..and two', '.'];
  let size = lines.join('\r\n').length;
  while (size < octets) {
    const line = (size % 3 === 0 ? '.' : '') + randomBytes(38).toString('hex');
    lines.push(line);
    size += line.length + 2;
  }
  return crlf(`${lines.join('\n')}\n`);
}

describe('pipelined RETR', () => {
  let rig: Pop3Rig;
  let watched: WatchedBlobs;
  let server: Pop3Server;
  const messages: Buffer[] = [];
  let account: string;

  before(async () => {
    rig = await startPop3Rig();
    watched = new WatchedBlobs(rig.blobs);
    server = await rig.server({ blobs: watched });
    for (const [i, size] of [200, 10 * KiB, 90 * KiB, 3 * KiB, 40 * KiB, 1 * KiB, 70 * KiB, 12 * KiB, 500, 20 * KiB, 6 * KiB, 2 * KiB].entries()) messages.push(message(`m${i}`, size));
    assert.ok(messages.some((m) => m.length > READ_WHOLE_UP_TO_OCTETS), 'some are streamed');
    account = await rig.account(messages);
  });
  after(() => rig?.close());

  async function loggedIn(): Promise<RawPop3> {
    const c = await RawPop3.connect(server.ports.plain!);
    assert.match(await c.line(), /^\+OK /);
    assert.match(await c.command(`USER ${account}`), /^\+OK/);
    assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
    return c;
  }

  test('RETR 1..n in one write: answers in order and byte-exact, while the reads finish out of order', async (t) => {
    const c = await loggedIn();
    t.after(() => c.destroy());
    watched.reset();
    // The earlier a read is asked for, the longer it takes: read ahead, later bodies arrive first.
    watched.delayMs = (_key, nth) => Math.max(0, 80 - nth * 10);
    c.send(messages.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
    for (const [i, raw] of messages.entries()) {
      assert.equal(await c.line(), `+OK ${raw.length} octets`, `status of RETR ${i + 1}`);
      const got = await c.multi();
      assert.ok(got.equals(raw), `RETR ${i + 1}: the stored message, byte for byte`);
    }
    assert.equal(await c.command('NOOP'), '+OK');
    assert.ok(watched.mostOpen > 1, `reads overlapped: at most ${watched.mostOpen} open`);
    assert.ok(watched.mostOpen <= DEFAULT_BLOB_READ_LIMITS.perSession, `within the session's read budget: ${watched.mostOpen}`);
    assert.notDeepEqual(watched.finished, watched.asked, 'the reads did finish out of order');
    assert.equal(watched.streams, messages.filter((m) => m.length > READ_WHOLE_UP_TO_OCTETS).length, 'each large message streamed in its turn');
  });

  test('a DELE, a RETR of the deleted message and of a missing one keep their places in the pipeline', async (t) => {
    const c = await loggedIn();
    t.after(() => c.destroy());
    c.send('RETR 1\r\nDELE 2\r\nRETR 2\r\nRETR 99\r\nRETR 3\r\nRETR 4\r\nRSET\r\nRETR 2\r\n');
    assert.match(await c.line(), /^\+OK /);
    assert.ok((await c.multi()).equals(messages[0]!));
    assert.match(await c.line(), /^\+OK/);
    assert.match(await c.line(), /^-ERR /, 'RETR of a deleted message');
    assert.match(await c.line(), /^-ERR /, 'RETR of no such message');
    assert.match(await c.line(), /^\+OK /);
    assert.ok((await c.multi()).equals(messages[2]!));
    assert.match(await c.line(), /^\+OK /);
    assert.ok((await c.multi()).equals(messages[3]!));
    assert.match(await c.line(), /^\+OK/, 'RSET');
    assert.match(await c.line(), /^\+OK /);
    assert.ok((await c.multi()).equals(messages[1]!), 'undeleted by RSET, RETR 2 answers');
  });

  test('RETR of many messages just below the read-whole size: many reads in flight, never more octets than the session\'s bound', async (t) => {
    const near = Array.from({ length: 24 }, (_, i) => message(`near-${i}`, READ_WHOLE_UP_TO_OCTETS - 4 * KiB));
    assert.ok(near.reduce((n, m) => n + m.length, 0) > DEFAULT_BLOB_READ_LIMITS.perSessionOctets, 'more than the bound in all');
    const owner = await rig.account(near);
    const c = await RawPop3.connect(server.ports.plain!);
    t.after(() => c.destroy());
    await c.line();
    await c.command(`USER ${owner}`);
    assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
    watched.reset();
    // Every read takes a while, so those started ahead pile up to whatever bound there is.
    watched.delayMs = () => 20;
    c.send(near.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
    for (const raw of near) {
      assert.match(await c.line(), /^\+OK /);
      assert.ok((await c.multi()).equals(raw));
    }
    t.diagnostic(`reads open at once: ${watched.mostOpen}, octets: ${watched.mostOpenOctets}`);
    assert.ok(watched.mostOpenOctets <= DEFAULT_BLOB_READ_LIMITS.perSessionOctets, `octets in flight ${watched.mostOpenOctets} within the session's ${DEFAULT_BLOB_READ_LIMITS.perSessionOctets}`);
    assert.ok(watched.mostOpen > 8, `more than 8 reads in flight: ${watched.mostOpen}`);
  });

  test('with the body cache, a later session\'s RETR of small messages reads nothing from S3', async (t) => {
    const counted = new WatchedBlobs(rig.blobs);
    const cached = await rig.server({ blobs: counted, bodyCache: new BodyCache() });
    const retrAll = async () => {
      const c = await RawPop3.connect(cached.ports.plain!);
      t.after(() => c.destroy());
      await c.line();
      await c.command(`USER ${account}`);
      assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
      c.send(messages.map((_, i) => `RETR ${i + 1}\r\n`).join(''));
      for (const raw of messages) {
        assert.match(await c.line(), /^\+OK /);
        assert.ok((await c.multi()).equals(raw));
      }
      // The maildrop is locked while a session holds it: QUIT lets the next one in.
      assert.match(await c.command('QUIT'), /^\+OK/);
    };
    const large = messages.filter((m) => m.length > READ_WHOLE_UP_TO_OCTETS).length;
    await retrAll();
    assert.equal(counted.ranges, messages.length - large);
    counted.reset();
    await retrAll();
    assert.equal(counted.ranges, 0, 'small messages came from the cache');
    assert.equal(counted.streams, large, 'large ones are streamed again');
  });
});
