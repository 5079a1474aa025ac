// Real POP3 clients against the in-process server: Python poplib (STLS and implicit TLS), curl
// pop3:// and pop3s://, and fetchmail in batch mode (apt package fetchmail).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fetchmailOnce } from '../../helpers/fetchmail.ts';
import { crlf, PASSWORD, runPython, startPop3Rig, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => {
  rig = await startPop3Rig();
  server = await rig.server();
});
after(() => rig?.close());

const messages = [
  crlf('From: a@example.org\nTo: b@example.org\nSubject: first\n\nHello.\n.hidden dot line\n..\n'),
  crlf('From: c@example.org\nSubject: second\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nline one\nline two\nline three\n'),
  Buffer.concat([crlf('Subject: third, binary-ish\n\n'), Buffer.from([0x80, 0xff, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a, 0x41, 0x0d, 0x0a])]),
];

/** One poplib session; `end` is "quit" (UPDATE) or "drop" (close the socket without QUIT). */
const POPLIB = String.raw`
import base64, json, poplib, ssl, sys
port, mode, user, password, dele, end = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    pop = poplib.POP3_SSL('127.0.0.1', int(port), context=ctx, timeout=10)
else:
    pop = poplib.POP3('127.0.0.1', int(port), timeout=10)
    pop.stls(context=ctx)
caps = pop.capa()
pop.user(user); pop.pass_(password)
count, octets = pop.stat()
sizes = [int(l.split()[1]) for l in pop.list()[1]]
uidl = [l.decode().split()[1] for l in pop.uidl()[1]]
retr = [base64.b64encode(b''.join(l + b'\r\n' for l in pop.retr(i + 1)[1])).decode() for i in range(count)]
top = base64.b64encode(b''.join(l + b'\r\n' for l in pop.top(2, 1)[1])).decode() if count >= 2 else None
for n in filter(None, dele.split(',')): pop.dele(int(n))
if end == 'quit': pop.quit()
else: pop.sock.close()
print(json.dumps({'caps': sorted(caps), 'count': count, 'octets': octets, 'sizes': sizes, 'uidl': uidl, 'retr': retr, 'top': top}))
`;

interface PoplibResult {
  caps: string[];
  count: number;
  octets: number;
  sizes: number[];
  uidl: string[];
  retr: string[];
  top: string | null;
}

const poplib = (port: number, mode: 'stls' | 'ssl', user: string, dele: number[], end: 'quit' | 'drop') =>
  runPython<PoplibResult>(POPLIB, [String(port), mode, user, PASSWORD, dele.join(','), end]);

test('poplib: STLS and POP3_SSL, byte-identical RETR, TOP, UIDL stable, DELE only on QUIT', async () => {
  const account = await rig.account(messages);
  const first = await poplib(server.ports.plain!, 'stls', account, [1, 2], 'drop');
  assert.ok(first.caps.includes('TOP') && first.caps.includes('UIDL') && first.caps.includes('USER'));
  assert.equal(first.count, 3);
  assert.equal(first.octets, messages.reduce((n, m) => n + m.length, 0));
  assert.deepEqual(first.sizes, messages.map((m) => m.length));
  first.retr.forEach((b64, i) => assert.ok(Buffer.from(b64, 'base64').equals(messages[i]!), `RETR ${i + 1} byte-identical`));
  assert.equal(Buffer.from(first.top!, 'base64').toString(), messages[1]!.toString().replace(/(\r\n\r\nline one\r\n)[\s\S]*$/, '$1'));

  // The connection was dropped without QUIT: nothing deleted.
  const second = await poplib(server.ports.tls!, 'ssl', account, [1], 'quit');
  assert.equal(second.count, 3);
  assert.deepEqual(second.uidl, first.uidl, 'UIDL stable across sessions');

  const third = await poplib(server.ports.tls!, 'ssl', account, [], 'quit');
  assert.equal(third.count, 2);
  assert.deepEqual(third.uidl, first.uidl.slice(1), 'the survivors keep their unique-ids');
  assert.deepEqual(third.retr.map((b) => Buffer.from(b, 'base64')), messages.slice(1));
});

function curl(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '20', ...args], { encoding: 'buffer', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`curl failed: ${error.message} ${stderr.toString()}`));
      else resolve(stdout);
    });
  });
}

test('curl pop3:// lists and retrieves; pop3s:// too', async () => {
  const account = await rig.account(messages);
  const auth = ['--user', `${account}:${PASSWORD}`];
  const listing = (await curl([...auth, `pop3://127.0.0.1:${server.ports.plain}/`])).toString();
  assert.equal(listing, messages.map((m, i) => `${i + 1} ${m.length}\r\n`).join(''));
  const retr = await curl([...auth, `pop3://127.0.0.1:${server.ports.plain}/1`]);
  assert.ok(retr.equals(messages[0]!), 'curl RETR 1 byte-identical');
  const overStls = await curl([...auth, '--ssl-reqd', '--insecure', `pop3://127.0.0.1:${server.ports.plain}/2`]);
  assert.ok(overStls.equals(messages[1]!));
  const overTls = await curl([...auth, '--insecure', `pop3s://127.0.0.1:${server.ports.tls}/3`]);
  assert.ok(overTls.equals(messages[2]!));
});

test('fetchmail in batch mode fetches every message over TLS and deletes them', async () => {
  const account = await rig.account(messages.slice(0, 2));
  const fetched = (
    await fetchmailOnce([
      `poll 127.0.0.1 service ${server.ports.tls} protocol POP3 uidl timeout 20`,
      `  user "${account}" there with password "${PASSWORD}" is "root" here`,
      '  ssl no sslcertck',
      '  no keep fetchall',
    ])
  ).map((m) => m.toString('latin1'));
  assert.equal(fetched.length, 2);
  // fetchmail adds its Received header and hands the MDA LF line ends.
  for (const [i, subject] of ['first', 'second'].entries()) {
    const got = fetched.find((m) => m.includes(`Subject: ${subject}`));
    assert.ok(got, subject);
    assert.ok(got.endsWith(messages[i]!.toString('latin1').replace(/\r\n/g, '\n').split('\n\n').slice(1).join('\n\n')), `body of ${subject}`);
  }
  assert.equal((await rig.store.mailStore.listMessages(account, 'INBOX')).length, 0, 'deleted after retrieval (nokeep)');
});
