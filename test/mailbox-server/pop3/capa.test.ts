// CAPA (RFC 2449 §5): the capabilities listed, STLS only before TLS, no APOP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPop3, startPop3Service, type Pop3Rig } from './helpers.ts';
import type { Pop3Server } from '../../../mailbox-server/pop3/server.ts';

let rig: Pop3Rig;
let server: Pop3Server;
before(async () => ({ rig, server } = await startPop3Service()));
after(() => rig?.close());

const plain = () => server.ports.plain!;

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

