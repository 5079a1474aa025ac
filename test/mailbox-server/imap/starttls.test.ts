// STARTTLS (RFC 3501 §6.2.1, RFC 2595 §3.1) and implicit TLS (RFC 8314 §3.3) over a raw socket.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { SocketReader } from '../../helpers/socket-reader.ts';
import { ALICE, type ImapWorld, imapWorldSuite, RawImap } from './helpers/imap-world.ts';

describe('IMAP STARTTLS and implicit TLS', () => {
  let w: ImapWorld;
  imapWorldSuite((world) => (w = world));

  test('STARTTLS upgrades the connection and drops pipelined cleartext', async (t) => {
    const c = await RawImap.connect(w.port);
    t.after(() => c.close());
    await c.line();
    // The injected NOOP after STARTTLS must never run (RFC 2595 §3.1).
    c.write('a1 STARTTLS\r\ninjected NOOP\r\n');
    assert.equal(await c.line(), 'a1 OK Begin TLS negotiation now');
    const secure = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    t.after(() => secure.destroy());
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const reader = new SocketReader(secure);
    secure.write('a2 CAPABILITY\r\n');
    const text = String(await reader.take((b) => (b.includes('a2 OK') ? b.length : -1), 'the answer to a2', 5000));
    assert.match(text, /\* CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    assert.doesNotMatch(text, /STARTTLS/);
    assert.doesNotMatch(text, /injected/);
  });

  test('implicit TLS (993) greets', async (t) => {
    const c = await RawImap.connect(w.tlsPort, true);
    t.after(() => c.close());
    assert.match((await c.line())!, /^\* OK \[CAPABILITY IMAP4rev1 .*AUTH=PLAIN/);
    await c.login(ALICE.user, ALICE.password);
  });
});
