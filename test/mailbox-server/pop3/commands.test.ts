// POP3 commands as the RFC examples show them (RFC 1939 §4-§7, RFC 2449 CAPA, RFC 2595 STLS,
// RFC 5034 AUTH PLAIN): client line, expected server line, bytes checked exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTls } from 'node:tls';
import { crlf, PASSWORD, RawPop3, startPop3Rig, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => {
  rig = await startPop3Rig();
  server = await rig.server();
});
after(() => rig?.close());

const plain = () => server.ports.plain!;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const first = crlf('From: a@example.org\nSubject: one\n\nline 1\n.starts with a dot\n..two dots\n.\nlast\n');
// No CRLF at the end: the server adds one before the terminating "." (RFC 1939 §3).
const second = Buffer.from('Subject: two\r\n\r\nbody without final newline', 'latin1');
const third = crlf('Subject: three\nX-Long: folded\n  continuation\n\n1\n2\n3\n4\n5\n');

async function loggedIn(account: string): Promise<RawPop3> {
  const c = await RawPop3.connect(plain());
  assert.match(await c.line(), /^\+OK /);
  assert.match(await c.command(`USER ${account}`), /^\+OK/);
  assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK /);
  return c;
}

test('CAPA lists the RFC 2449 capabilities; STLS only before TLS', async () => {
  const c = await RawPop3.connect(plain());
  try {
    await c.line();
    assert.equal(await c.command('CAPA'), '+OK Capability list follows');
    const caps = (await c.multi()).toString().split('\r\n').filter(Boolean);
    for (const cap of ['TOP', 'UIDL', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'SASL PLAIN', 'STLS', 'PIPELINING']) assert.ok(caps.includes(cap), cap);
    assert.ok(caps.some((c) => c.startsWith('IMPLEMENTATION ')));
    assert.ok(!caps.some((c) => c.startsWith('APOP')));
  } finally {
    c.destroy();
  }
  const s = await RawPop3.connect(server.ports.tls!, { tls: true });
  try {
    await s.line();
    await s.command('CAPA');
    const caps = (await s.multi()).toString().split('\r\n');
    assert.ok(!caps.includes('STLS'), 'no STLS over TLS');
    assert.ok(caps.includes('USER'));
  } finally {
    s.destroy();
  }
});

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

test('AUTH PLAIN: initial response, continuation, "*" cancels, bare AUTH lists mechanisms (RFC 5034)', async () => {
  const account = await rig.account([first]);
  const c = await RawPop3.connect(plain());
  await c.line();
  assert.equal(await c.command('AUTH'), '+OK Mechanisms follow');
  assert.equal((await c.multi()).toString(), 'PLAIN\r\n');
  assert.equal(await c.command('AUTH PLAIN'), '+ ');
  assert.match(await c.command('*'), /^-ERR /);
  assert.equal(await c.command('AUTH PLAIN'), '+ ');
  assert.match(await c.command(b64(`\0${account}\0${PASSWORD}`)), /^\+OK Logged in, 1 messages/);
  await c.command('QUIT');

  const d = await RawPop3.connect(plain());
  await d.line();
  assert.match(await d.command(`AUTH PLAIN ${b64(`${account}\0${account}\0${PASSWORD}`)}`), /^\+OK Logged in/);
  assert.equal(await d.command('STAT'), `+OK 1 ${first.length}`);
  await d.command('QUIT');
});

test('STLS upgrades the connection; commands pipelined behind STLS are discarded (RFC 2595 §4)', async () => {
  const account = await rig.account([first]);
  const c = await RawPop3.connect(plain());
  await c.line();
  c.send('STLS\r\nNOOP\r\n');
  assert.equal(await c.line(), '+OK Begin TLS negotiation now');
  c.socket.removeAllListeners('data');
  const secure = connectTls({ socket: c.socket, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const responses: string[] = [];
  let text = '';
  const done = new Promise<void>((resolve) =>
    secure.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n.\r\n') && text.includes('Logged in')) resolve();
    }),
  );
  secure.write(`USER ${account}\r\nPASS ${PASSWORD}\r\nCAPA\r\n`);
  await done;
  responses.push(...text.split('\r\n'));
  secure.destroy();
  assert.equal(responses[0], '+OK Send PASS', 'the NOOP sent before the handshake got no answer');
  assert.match(responses[1]!, /^\+OK Logged in/);
  assert.ok(!responses.includes('STLS'), 'no STLS once TLS is on');
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
