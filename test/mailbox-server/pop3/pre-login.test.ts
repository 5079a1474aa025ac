// Before login (RFC 1939 §4 AUTHORIZATION): a per-address cap on unauthenticated connections,
// shared with IMAP, and a login deadline that neither bytes nor commands extend.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionsPerAddress } from '../../../core/connections-per-address.ts';
import { PASSWORD, RawPop3, startPop3Rig, type Pop3Rig } from './helpers.ts';

const DEADLINE_MS = 800;
let rig: Pop3Rig;
const clients: RawPop3[] = [];

before(async () => {
  rig = await startPop3Rig();
});
after(async () => {
  for (const c of clients) c.socket.destroy();
  await rig?.close();
});

async function connect(port: number): Promise<{ c: RawPop3; greeting: string }> {
  const c = await RawPop3.connect(port);
  clients.push(c);
  return { c, greeting: await c.line() };
}

test('the per-address cap counts unauthenticated POP3 and IMAP connections together; login frees a place', async () => {
  const preLogin = new ConnectionsPerAddress(3);
  const server = await rig.server({ preLoginConnections: preLogin });
  const port = server.ports.plain!;
  // Two places taken by IMAP connections from the same address (the limiter is shared in main.ts).
  const imap = [preLogin.admit('127.0.0.1')!, preLogin.admit('127.0.0.1')!];
  const first = await connect(port);
  assert.match(first.greeting, /^\+OK /);
  const refused = await connect(port);
  assert.equal(refused.greeting, '-ERR [SYS/TEMP] Too many connections from your address, try again later');
  await refused.c.closed();
  const account = await rig.account();
  assert.match(await first.c.command(`USER ${account}`), /^\+OK/);
  assert.match(await first.c.command(`PASS ${PASSWORD}`), /^\+OK/);
  const second = await connect(port);
  assert.match(second.greeting, /^\+OK /, 'a logged-in connection no longer counts');
  imap[0]!.release();
  const third = await connect(port);
  assert.match(third.greeting, /^\+OK /, 'a place released by IMAP is free for POP3');
  second.c.socket.destroy();
  third.c.socket.destroy();
  await first.c.command('QUIT');
  imap[1]!.release();
});

test('the login deadline counts from connect: trickled commands and bytes do not extend it', async () => {
  const server = await rig.server({ limits: { loginDeadlineMs: DEADLINE_MS } });
  const started = performance.now();
  const { c } = await connect(server.ports.plain!);
  let n = 0;
  const trickle = setInterval(() => c.send(n++ < 4 ? 'CAPA\r\n' : 'x'), 100);
  try {
    let line: string;
    do line = await c.line();
    while (!line.startsWith('-ERR'));
    const ms = performance.now() - started;
    assert.equal(line, '-ERR Autologout: no login in time');
    assert.ok(ms >= DEADLINE_MS - 50 && ms < DEADLINE_MS * 3, `closed after ${ms.toFixed(0)} ms`);
    await c.closed();
  } finally {
    clearInterval(trickle);
  }
});
