// The TRANSACTION and UPDATE states (RFC 1939 §5-§6) as the RFC examples show them: STAT, LIST,
// UIDL, RETR, TOP, DELE, RSET, NOOP and QUIT, also pipelined (RFC 2449 §6.6); client line, expected
// server line, bytes checked exactly. CAPA, STLS, AUTH and USER/PASS have files of their own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { crlf, loggedInOn, PASSWORD, RawPop3, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const plain = () => server.ports.plain!;

const first = crlf('From: a@example.org\nSubject: one\n\nline 1\n.starts with a dot\n..two dots\n.\nlast\n');
// No CRLF at the end: the server adds one before the terminating "." (RFC 1939 §3).
const second = Buffer.from('Subject: two\r\n\r\nbody without final newline', 'latin1');
const third = crlf('Subject: three\nX-Long: folded\n  continuation\n\n1\n2\n3\n4\n5\n');

const loggedIn = (account: string) => loggedInOn(plain(), account);

test('USER/PASS, STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT (RFC 1939 §5-§7)', async () => {
  const account = await rig.account([first, second, third]);
  const c = await loggedIn(account);
  const total = first.length + second.length + third.length;
  assert.equal(await c.command('STAT'), `+OK 3 ${total}`);
  assert.equal(await c.command('LIST'), `+OK 3 messages (${total} octets)`);
  assert.equal((await c.multi()).toString(), `1 ${first.length}\r\n2 ${second.length}\r\n3 ${third.length}\r\n`);
  assert.equal(await c.command('LIST 2'), `+OK 2 ${second.length}`);

  assert.equal(await c.command('UIDL'), '+OK Unique-id listing follows');
  const uidl = (await c.multi()).toString().trim().split('\r\n').map((l) => l.split(' '));
  assert.deepEqual(uidl.map(([n]) => n), ['1', '2', '3']);
  for (const [, id] of uidl) assert.match(id!, /^[\x21-\x7e]{1,70}$/);
  assert.equal(new Set(uidl.map(([, id]) => id)).size, 3);
  assert.equal(await c.command('UIDL 3'), `+OK 3 ${uidl[2]![1]}`);

  assert.equal(await c.command('RETR 1'), `+OK ${first.length} octets`);
  assert.deepEqual(await c.multi(), first, 'dot-stuffed on the wire, byte-identical once un-stuffed');
  assert.equal(await c.command('RETR 2'), `+OK ${second.length} octets`);
  assert.deepEqual(await c.multi(), Buffer.concat([second, Buffer.from('\r\n')]));

  const header = crlf('Subject: three\nX-Long: folded\n  continuation\n\n');
  assert.match(await c.command('TOP 3 0'), /^\+OK/);
  assert.deepEqual(await c.multi(), header);
  await c.command('TOP 3 2');
  assert.deepEqual(await c.multi(), Buffer.concat([header, crlf('1\n2\n')]));
  await c.command('TOP 3 100');
  assert.deepEqual(await c.multi(), third, 'more lines than the body has: all of it');

  assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await c.command('STAT'), `+OK 2 ${second.length + third.length}`);
  await c.command('LIST');
  assert.equal((await c.multi()).toString(), `2 ${second.length}\r\n3 ${third.length}\r\n`, 'deleted messages are not listed');
  assert.match(await c.command('LIST 1'), /^-ERR /);
  assert.equal(await c.command('NOOP'), '+OK');
  assert.equal(await c.command('RSET'), `+OK Maildrop has 3 messages (${total} octets)`);
  assert.equal(await c.command('DELE 2'), '+OK Message 2 deleted');
  assert.equal(await c.command('QUIT'), '+OK Bye (2 messages left)');
  await c.closed();

  const left = await rig.store.mailStore.listMessages(account, 'INBOX');
  assert.deepEqual(left.map((m) => m.uid), [1, 3], 'only the message still marked at QUIT is expunged');
  const again = await loggedIn(account);
  assert.equal(await again.command('UIDL'), '+OK Unique-id listing follows');
  assert.equal((await again.multi()).toString(), `1 ${uidl[0]![1]}\r\n2 ${uidl[2]![1]}\r\n`, 'UIDL stable across sessions, renumbered messages');
  assert.equal(await again.command('QUIT'), '+OK Bye (2 messages left)');
});

test('the message list is fixed at login (RFC 1939 §5); a new session sees new mail', async () => {
  const account = await rig.account([first]);
  const c = await loggedIn(account);
  await rig.file(account, third);
  assert.equal(await c.command('STAT'), `+OK 1 ${first.length}`);
  assert.match(await c.command('RETR 2'), /^-ERR /);
  await c.command('QUIT');
  const d = await loggedIn(account);
  assert.equal(await d.command('STAT'), `+OK 2 ${first.length + third.length}`);
  await d.command('QUIT');
});

test('a dropped connection deletes nothing and frees the maildrop (RFC 1939 §6)', async () => {
  const account = await rig.account([first, second]);
  const c = await loggedIn(account);
  assert.match(await c.command('DELE 1'), /^\+OK/);
  c.destroy();
  // The next login must wait for the lock release, so poll on the client's view, bounded.
  let d: RawPop3 | null = null;
  for (let attempt = 0; attempt < 50 && !d; attempt++) {
    const next = await RawPop3.connect(plain());
    await next.line();
    await next.command(`USER ${account}`);
    if ((await next.command(`PASS ${PASSWORD}`)).startsWith('+OK')) d = next;
    else next.destroy();
  }
  assert.ok(d, 'lock released after the drop');
  assert.equal(await d.command('STAT'), `+OK 2 ${first.length + second.length}`);
  await d.command('QUIT');
});

test('RETR streams a large message byte-exactly (several S3 chunks)', async () => {
  const line = 'x'.repeat(70) + '\r\n.' + 'y'.repeat(20) + '\r\n';
  const big = Buffer.concat([crlf('Subject: big\n\n'), Buffer.from(line.repeat(Math.ceil((2 * 1024 * 1024) / line.length)))]);
  const account = await rig.account([big]);
  const c = await loggedIn(account);
  assert.equal(await c.command('RETR 1'), `+OK ${big.length} octets`);
  assert.ok((await c.multi()).equals(big));
  await c.command('QUIT');
});

test('PIPELINING: commands sent in one write are answered in order (RFC 2449 §6.6)', async () => {
  const account = await rig.account([first, third]);
  const c = await loggedIn(account);
  c.send('STAT\r\nRETR 1\r\nLIST 2\r\nTOP 2 1\r\nNOOP\r\n');
  assert.equal(await c.line(), `+OK 2 ${first.length + third.length}`);
  assert.equal(await c.line(), `+OK ${first.length} octets`);
  assert.deepEqual(await c.multi(), first);
  assert.equal(await c.line(), `+OK 2 ${third.length}`);
  assert.match(await c.line(), /^\+OK/);
  assert.deepEqual(await c.multi(), crlf('Subject: three\nX-Long: folded\n  continuation\n\n1\n'));
  assert.equal(await c.line(), '+OK');
  await c.command('QUIT');
});
