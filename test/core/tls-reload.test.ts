// A renewed certificate is taken up in place: the files are watched, a half-written pair is
// skipped, and each listener (IMAP, POP3, SMTP; implicit TLS and STARTTLS) presents the new
// certificate to new connections while a session opened before the swap goes on with the old one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ServiceLog } from '../../core/log.ts';
import { createSelfSignedCertificate, type TlsCredentials } from '../../core/tls.ts';
import { watchCertificateFiles } from '../../core/tls-reload.ts';
import { SocketReader } from '../helpers/socket-reader.ts';
import { startImapWorld, type ImapWorld } from '../mailbox-server/imap/helpers/imap-world.ts';
import { startPop3Rig, type Pop3Rig } from '../mailbox-server/pop3/helpers.ts';
import { startEdgeWorld, startSubmissionEdge, type EdgeWorld } from '../smtp-edge/helpers.ts';

const certificate = (name: string): TlsCredentials => {
  const now = Date.now();
  return createSelfSignedCertificate(name, [name, '127.0.0.1'], new Date(now - 60_000), new Date(now + 86_400_000));
};
const fingerprint = (credentials: TlsCredentials) => new X509Certificate(credentials.cert).fingerprint256;

/** One reader per socket (test/helpers/socket-reader.ts), kept for the socket's life. */
const readers = new WeakMap<Socket, SocketReader>();

/** Reads from `socket` through the first match of `done`; rejects after 10 s. */
function readUntil(socket: Socket, done: RegExp): Promise<string> {
  let reader = readers.get(socket);
  if (!reader) readers.set(socket, (reader = new SocketReader(socket)));
  return reader.through(done, 10_000);
}

function handshake(options: { port: number } | { socket: Socket }): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', ...options, rejectUnauthorized: false, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Opens a TLS session on an implicit-TLS port and reads the greeting. */
async function implicitTls(port: number, greeting: RegExp): Promise<TLSSocket> {
  const socket = await handshake({ port });
  await readUntil(socket, greeting);
  return socket;
}

/** Connects in clear, runs the protocol's upgrade dialogue, and returns the TLS socket. */
async function starttls(port: number, dialogue: Array<[send: string | null, expect: RegExp]>): Promise<TLSSocket> {
  const plain = connect(port, '127.0.0.1');
  for (const [send, expect] of dialogue) {
    const answer = readUntil(plain, expect);
    if (send !== null) plain.write(send);
    await answer;
  }
  return handshake({ socket: plain });
}

async function exchange(socket: TLSSocket, line: string, expect: RegExp): Promise<string> {
  const answer = readUntil(socket, expect);
  socket.write(line);
  return answer;
}

const presented = (socket: TLSSocket) => socket.getPeerCertificate().fingerprint256;

describe('watchCertificateFiles', () => {
  it('skips a key without its certificate, then applies the pair once both are written (by rename)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mail-tls-reload-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const [a, b] = [certificate('a.test'), certificate('b.test')];
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'chain.pem');
    writeFileSync(keyFile, a.key);
    writeFileSync(certFile, a.cert);
    const events: string[] = [];
    let skipped!: () => void;
    const skip = new Promise<void>((resolve) => (skipped = resolve));
    const log: ServiceLog = {
      info: (event) => void events.push(event),
      warn: (event) => {
        events.push(event);
        if (event === 'tls.reload-skipped') skipped();
      },
      error: (event) => void events.push(event),
    };
    const applied: TlsCredentials[] = [];
    let onApply!: () => void;
    const apply = new Promise<void>((resolve) => (onApply = resolve));
    const watch = watchCertificateFiles(keyFile, certFile, a, (c) => {
      applied.push(c);
      onApply();
    }, log, 50);
    t.after(() => watch.close());

    writeFileSync(keyFile, b.key);
    await skip;
    assert.deepEqual(applied, [], 'the key of b with the certificate of a is not applied');
    writeFileSync(`${certFile}.new`, b.cert);
    renameSync(`${certFile}.new`, certFile);
    await apply;
    assert.equal(applied.length, 1);
    assert.equal(fingerprint(applied[0]!), fingerprint(b));
    assert.ok(events.includes('tls.reloaded'), events.join(' '));
  });
});

describe('a replaced certificate', () => {
  const before_ = certificate('localhost');
  const renewed = certificate('localhost');
  let imap: ImapWorld;
  let pop3: Pop3Rig;
  let edge: EdgeWorld;

  before(async () => {
    [imap, pop3, edge] = await Promise.all([startImapWorld({ tls: before_ }), startPop3Rig(), startEdgeWorld()]);
  });
  after(async () => {
    await Promise.all([imap?.close(), pop3?.close(), edge?.close()]);
  });

  it('IMAP: an open IMAPS session keeps working; new IMAPS and STARTTLS connections see the new one', async (t) => {
    const open = await implicitTls(imap.tlsPort, /^\* OK.*\r\n/m);
    t.after(() => open.destroy());
    assert.equal(presented(open), fingerprint(before_));
    imap.server.replaceTls(renewed);
    assert.match(await exchange(open, 'a1 NOOP\r\n', /^a1 .*\r\n/m), /^a1 OK/m, 'the session opened before the swap goes on');
    const fresh = await implicitTls(imap.tlsPort, /^\* OK.*\r\n/m);
    t.after(() => fresh.destroy());
    assert.equal(presented(fresh), fingerprint(renewed));
    const upgraded = await starttls(imap.port, [[null, /^\* OK.*\r\n/m], ['a STARTTLS\r\n', /^a OK.*\r\n/m]]);
    t.after(() => upgraded.destroy());
    assert.equal(presented(upgraded), fingerprint(renewed));
  });

  it('POP3: an open POP3S session keeps working; new POP3S and STLS connections see the new one', async (t) => {
    const server = await pop3.server({ tls: before_ });
    const open = await implicitTls(server.ports.tls!, /^\+OK.*\r\n/m);
    t.after(() => open.destroy());
    assert.equal(presented(open), fingerprint(before_));
    server.replaceTls(renewed);
    assert.match(await exchange(open, 'NOOP\r\n', /\r\n/), /^[+-]/, 'the session opened before the swap still answers');
    const fresh = await implicitTls(server.ports.tls!, /^\+OK.*\r\n/m);
    t.after(() => fresh.destroy());
    assert.equal(presented(fresh), fingerprint(renewed));
    const upgraded = await starttls(server.ports.plain!, [[null, /^\+OK.*\r\n/m], ['STLS\r\n', /^\+OK.*\r\n/m]]);
    t.after(() => upgraded.destroy());
    assert.equal(presented(upgraded), fingerprint(renewed));
  });

  it('SMTP: an open submissions session keeps working; new 465 and STARTTLS connections see the new one', async (t) => {
    const server = await startSubmissionEdge(t, edge, { tls: before_ });
    const open = await implicitTls(server.submissions, /^220 .*\r\n/m);
    t.after(() => open.destroy());
    assert.equal(presented(open), fingerprint(before_));
    server.replaceTls(renewed);
    assert.match(await exchange(open, 'EHLO client.test\r\n', /^250 .*\r\n/m), /^250/m, 'the session opened before the swap goes on');
    const fresh = await implicitTls(server.submissions, /^220 .*\r\n/m);
    t.after(() => fresh.destroy());
    assert.equal(presented(fresh), fingerprint(renewed));
    const upgraded = await starttls(server.mx, [[null, /^220 .*\r\n/m], ['EHLO client.test\r\n', /^250 .*\r\n/m], ['STARTTLS\r\n', /^220 .*\r\n/m]]);
    t.after(() => upgraded.destroy());
    assert.equal(presented(upgraded), fingerprint(renewed));
  });
});
