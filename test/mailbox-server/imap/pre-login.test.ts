// Before login (RFC 3501 §6.2): literals capped at a few KiB (RFC 7888 §4, RFC 7889 §3 TOOBIG),
// a per-address cap on unauthenticated connections, and a login deadline that bytes do not
// extend; a flood of half-sent literals costs the server a bounded amount of memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionsPerAddress } from '../../../core/connections-per-address.ts';
import type { ImapServer } from '../../../mailbox-server/imap/server.ts';
import { preLoginImapWireLimits } from '../../../mailbox-server/imap/wire/limits.ts';
import { ALICE, RawImap, sampleMessage, startImapWorld, type ImapWorld } from './helpers/imap-world.ts';
import { eventually } from '../../helpers/eventually.ts';

const KiB = 1024;
const CAP = 5;
const DEADLINE_MS = 800;
const PATIENT_DEADLINE_MS = 3000;

describe('IMAP before login', () => {
  let w: ImapWorld;
  /** Room for the memory test's crowd of connections from 127.0.0.1. */
  let roomy: ImapServer;
  /** A cap of CAP unauthenticated connections (and the default login deadline, so logins under load never race it). */
  let strict: ImapServer;
  /** A short login deadline, for the trickle. */
  let hurried: ImapServer;
  /**
   * A deadline a login fits in even on a loaded machine (scrypt alone can take hundreds of
   * milliseconds there), for showing that a logged-in session outlives it.
   */
  let patient: ImapServer;
  const clients: RawImap[] = [];

  before(async () => {
    w = await startImapWorld();
    roomy = await w.startServer({ preLoginConnections: new ConnectionsPerAddress(1000) });
    strict = await w.startServer({ preLoginConnections: new ConnectionsPerAddress(CAP), limits: { idlePollMs: 200 } });
    hurried = await w.startServer({ preLoginConnections: new ConnectionsPerAddress(CAP), limits: { loginDeadlineMs: DEADLINE_MS, idlePollMs: 200 } });
    patient = await w.startServer({ preLoginConnections: new ConnectionsPerAddress(CAP), limits: { loginDeadlineMs: PATIENT_DEADLINE_MS, idlePollMs: 200 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await w?.close();
  });

  const greeted = async (server: ImapServer) => {
    const c = await RawImap.connect(server.ports.imap!);
    clients.push(c);
    const greeting = await c.line();
    return { c, greeting };
  };

  test('a literal over the pre-login cap is NO [TOOBIG] without "+"; LOGIN with literals within it works', async () => {
    const { c } = await greeted(roomy);
    c.write('a LOGIN {24000000}\r\n');
    assert.equal(await c.line(), 'a NO [TOOBIG] Literal too big', 'refused before any data is sent (RFC 7889 §3)');
    c.write(`b LOGIN {${ALICE.user.length}}\r\n`);
    assert.match((await c.line())!, /^\+ /);
    c.write(`${ALICE.user} {${ALICE.password.length}}\r\n`);
    assert.match((await c.line())!, /^\+ /);
    c.write(`${ALICE.password}\r\n`);
    assert.match((await c.until('b')).at(-1)!, /^b OK /);
  });

  test('a non-synchronizing literal over the cap: BAD [TOOBIG], then BYE and close (RFC 7888 §4)', async () => {
    const { c } = await greeted(roomy);
    c.write(`c LOGIN {${5 * KiB}+}\r\n${'x'.repeat(5 * KiB)}\r\n`);
    assert.equal(await c.line(), 'c BAD [TOOBIG] Literal too big');
    assert.equal(await c.line(), '* BYE [TOOBIG] Literal too big');
    assert.equal(await c.line(), null);
  });

  test('a command pipelined behind LOGIN is framed under the limits after login', async () => {
    const { c } = await greeted(roomy);
    const message = sampleMessage('pipelined', `${'z'.repeat(70 * KiB)}\r\n`);
    const size = Buffer.byteLength(message);
    assert.ok(size > preLoginImapWireLimits.maxCommandOctets);
    // One write: LOGIN, then an APPEND whose LITERAL+ data is far above the pre-login cap.
    c.write(`l LOGIN ${ALICE.user} ${ALICE.password}\r\nx APPEND INBOX {${size}+}\r\n${message}\r\n`);
    assert.match((await c.until('l')).at(-1)!, /^l OK /);
    assert.match((await c.until('x')).at(-1)!, /^x OK \[APPENDUID \d+ \d+\]/);
    // And a synchronising literal: "+" comes once LOGIN has run, not NO [TOOBIG] from before it.
    const { c: d } = await greeted(roomy);
    d.write(`l LOGIN ${ALICE.user} ${ALICE.password}\r\ny APPEND INBOX {${size}}\r\n`);
    assert.match((await d.until('l')).at(-1)!, /^l OK /);
    assert.match((await d.line())!, /^\+ /);
    d.write(`${message}\r\n`);
    assert.match((await d.until('y')).at(-1)!, /^y OK \[APPENDUID \d+ \d+\]/);
  });

  test(`at most ${CAP} unauthenticated connections per address; logging in frees the place`, async () => {
    const first = await Promise.all(Array.from({ length: CAP }, () => greeted(strict)));
    for (const { greeting } of first) assert.match(greeting!, /^\* OK /);
    const refused = await greeted(strict);
    assert.equal(refused.greeting, '* BYE [UNAVAILABLE] Too many connections from your address, try again later');
    assert.equal(await refused.c.line(), null, 'closed');
    await first[0]!.c.login(ALICE.user, ALICE.password);
    const admitted = await greeted(strict);
    assert.match(admitted.greeting!, /^\* OK /, 'a logged-in connection no longer counts');
    first[1]!.c.close();
    // The slot comes back once the server has seen the close: poll, do not sleep.
    let again = await greeted(strict);
    for (let i = 0; i < 50 && again.greeting?.startsWith('* BYE'); i++) again = await greeted(strict);
    assert.match(again.greeting!, /^\* OK /, 'a closed connection frees its place');
    for (const { c } of [...first, admitted, again]) c.close();
  });

  test('the login deadline counts from connect: trickled bytes and commands do not extend it', async () => {
    const started = performance.now();
    const { c } = await greeted(hurried);
    // A NOOP every 100 ms, then single bytes of an unfinished line.
    let n = 0;
    const trickle = setInterval(() => c.write(n++ < 4 ? `n${n} NOOP\r\n` : 'x'), 100);
    try {
      let line: string | null;
      do line = await c.line(DEADLINE_MS * 5);
      while (line !== null && !line.startsWith('* BYE'));
      const ms = performance.now() - started;
      assert.equal(line, '* BYE Autologout; no login in time');
      assert.ok(ms >= DEADLINE_MS - 50 && ms < DEADLINE_MS * 3, `closed after ${ms.toFixed(0)} ms`);
    } finally {
      clearInterval(trickle);
      c.close();
    }
    // A logged-in session is not subject to it: still answering well past the deadline from connect.
    const connected = performance.now();
    const { c: user } = await greeted(patient);
    await user.login(ALICE.user, ALICE.password);
    while (performance.now() - connected < PATIENT_DEADLINE_MS * 1.5) assert.match((await user.command('NOOP')).at(-1)!, /OK NOOP/);
    user.close();
  });

  test('memory: 100 connections with half-sent pre-login literals hold at most 16 KiB each', async (t) => {
    const N = 100;
    const perConnection = preLoginImapWireLimits.maxCommandOctets;
    const rssBefore = process.memoryUsage().rss;
    const crowd = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const { c } = await greeted(roomy);
        // Ask for the most a hostile client could want; send half of whatever is granted.
        c.write(`h${i} LOGIN {24000000}\r\n`);
        const answer = (await c.line())!;
        if (answer.startsWith('+')) c.write(Buffer.alloc(512 * KiB, 0x61));
        c.write(`k${i} LOGIN {${4 * KiB}}\r\n`);
        const more = (await c.line())!;
        if (more.startsWith('+')) c.write(Buffer.alloc(2 * KiB, 0x62));
        return { c, answer };
      }),
    );
    for (const { answer } of crowd) assert.match(answer, /^h\d+ NO \[TOOBIG\]/);
    // Wait until the server has taken in every half-sent literal (a readiness check, not a sleep).
    await eventually(() => roomy.bufferedOctets >= N * 2 * KiB, 'every half-sent literal to be taken in', 10_000, 10);
    const held = roomy.bufferedOctets;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    t.diagnostic(`${N} connections: ${held} octets of input held, process RSS grew ${(rssGrowth / KiB / KiB).toFixed(1)} MiB (client and server)`);
    assert.ok(held >= N * 2 * KiB, `the half-sent literals are held: ${held}`);
    assert.ok(held <= N * perConnection, `${held} octets held for ${N} connections (bound ${N * perConnection})`);
    assert.ok(rssGrowth < 64 * 1024 * KiB, `process grew by ${(rssGrowth / KiB / KiB).toFixed(1)} MiB`);
    for (const { c } of crowd) c.close();
  });
});
