// Differential POP3 test: the same messages in Dovecot (APPENDed over IMAP) and in our store
// (filed byte for byte), then STAT, LIST, UIDL, RETR and TOP n for several n must agree.
// Intended differences are listed in INTENDED_DIFFERENCES with their reasons.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { appendViaImap, startDovecot, type Dovecot } from '../../helpers/dovecot.ts';
import { PASSWORD, RawPop3, startPop3Rig, type Pop3Rig } from '../pop3/helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

/**
 * Where we answer differently on purpose (compared answers leave these out):
 * - Greeting, status texts after "+OK"/"-ERR" and CAPA IMPLEMENTATION: free text (RFC 1939 §3).
 * - UIDL values: ours are UIDVALIDITY.UID, Dovecot's follow pop3_uidl_format; only their count,
 *   uniqueness and syntax are compared (RFC 1939 §7 leaves the form to the server).
 * - CAPA after login: Dovecot drops USER and SASL there; RFC 2449 §5 says the AUTHORIZATION
 *   capabilities are announced in both states, so we keep them. CAPA is compared before login.
 */
const INTENDED_DIFFERENCES = [
  'greeting and status texts',
  'UIDL values (only count and syntax compared)',
  'CAPA after login: Dovecot drops USER/SASL, we keep them (RFC 2449 §5: AUTHORIZATION capabilities are announced in both states)',
];

const fixturesDir = new URL('../../fixtures/mime/', import.meta.url);
const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
const fixtures: Array<[string, Buffer]> = [
  ...readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f): [string, Buffer] => [f, crlf(readFileSync(new URL(f, fixturesDir)))]),
  // Edge cases for TOP and dot-stuffing.
  ['dots', crlf(Buffer.from('Subject: dots\n\n.\n..\n.x\nend\n'))],
  ['empty-body', crlf(Buffer.from('Subject: empty body\n\n'))],
  ['long-lines', crlf(Buffer.from(`Subject: long\n\n${'a'.repeat(5000)}\n${'b'.repeat(998)}\nshort\n`))],
];
const TOP_LINES = [0, 1, 2, 5, 1000];

let dovecot: Dovecot;
let rig: Pop3Rig;
let ours: Pop3Server;
let account: string;
const DOVECOT_USER = 'oracle@example.test';

before(async () => {
  dovecot = await startDovecot({ users: { [DOVECOT_USER]: PASSWORD } });
  await appendViaImap(dovecot.ports.imap, DOVECOT_USER, PASSWORD, fixtures.map(([, raw]) => raw));
  rig = await startPop3Rig();
  ours = await rig.server();
  account = await rig.account(fixtures.map(([, raw]) => raw));
});
after(async () => {
  await dovecot?.stop();
  await rig?.close();
});

interface Transcript {
  stat: string;
  list: string;
  listEach: string[];
  uidlCount: number;
  retr: Buffer[];
  top: Map<string, Buffer>;
  capa: string[];
}

async function transcript(port: number, user: string): Promise<Transcript> {
  const c = await RawPop3.connect(port);
  try {
    assert.match(await c.line(), /^\+OK/);
    // Before login: Dovecot lists USER and SASL only in AUTHORIZATION (we list them in both, RFC 2449 §5).
    assert.match(await c.command('CAPA'), /^\+OK/);
    const capa = (await c.multi()).toString().trim().split('\r\n');
    assert.match(await c.command(`USER ${user}`), /^\+OK/);
    assert.match(await c.command(`PASS ${PASSWORD}`), /^\+OK/);
    const stat = await c.command('STAT');
    assert.match(await c.command('LIST'), /^\+OK/);
    const list = (await c.multi()).toString();
    const listEach: string[] = [];
    const retr: Buffer[] = [];
    const top = new Map<string, Buffer>();
    for (let n = 1; n <= fixtures.length; n++) {
      listEach.push(await c.command(`LIST ${n}`));
      assert.match(await c.command(`RETR ${n}`), /^\+OK/);
      retr.push(await c.multi());
      for (const lines of TOP_LINES) {
        assert.match(await c.command(`TOP ${n} ${lines}`), /^\+OK/);
        top.set(`${n} ${lines}`, await c.multi());
      }
    }
    assert.match(await c.command('UIDL'), /^\+OK/);
    const uidl = (await c.multi()).toString().trim().split('\r\n');
    for (const line of uidl) assert.match(line, /^\d+ [\x21-\x7e]{1,70}$/);
    await c.command('QUIT');
    return { stat, list, listEach, uidlCount: new Set(uidl.map((l) => l.split(' ')[1])).size, retr, top, capa };
  } finally {
    c.destroy();
  }
}

test('POP3 answers agree with Dovecot on the MIME fixtures', async (t) => {
  const [theirs, mine] = await Promise.all([transcript(dovecot.ports.pop3, DOVECOT_USER), transcript(ours.ports.plain!, account)]);
  for (const difference of INTENDED_DIFFERENCES) t.diagnostic(`intended difference: ${difference}`);
  assert.equal(mine.stat, theirs.stat, 'STAT');
  assert.equal(mine.list, theirs.list, 'LIST sizes');
  assert.deepEqual(mine.listEach, theirs.listEach, 'LIST n');
  assert.equal(mine.uidlCount, theirs.uidlCount, 'UIDL count');
  assert.equal(mine.uidlCount, fixtures.length);
  fixtures.forEach(([name, raw], i) => {
    assert.ok(theirs.retr[i]!.equals(raw), `Dovecot RETR of ${name} is the fixture (sanity)`);
    assert.ok(mine.retr[i]!.equals(theirs.retr[i]!), `RETR ${name}`);
    for (const lines of TOP_LINES) {
      const key = `${i + 1} ${lines}`;
      assert.equal(mine.top.get(key)!.toString('latin1'), theirs.top.get(key)!.toString('latin1'), `TOP ${name} ${lines}`);
    }
  });
  // Capabilities both must offer (Dovecot lists SASL as "SASL PLAIN LOGIN", we offer PLAIN).
  for (const cap of ['TOP', 'UIDL', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING']) {
    assert.ok(theirs.capa.includes(cap), `Dovecot offers ${cap}`);
    assert.ok(mine.capa.includes(cap), `we offer ${cap}`);
  }
});
