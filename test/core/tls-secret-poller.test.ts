// A renewed certificate in Secrets Manager reaches a running listener with no restart: the poller
// reads the secret's new version and writes the pair over the watched files, the watcher swaps the
// context (core/tls-reload.ts), a new TLS client sees the new certificate, and a session opened
// before goes on. Secrets Manager is a stub answering at the SDK boundary (test/helpers/secrets-stub.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ServiceLog } from '../../core/log.ts';
import { createSelfSignedCertificate, type TlsCredentials } from '../../core/tls.ts';
import { watchCertificateFiles } from '../../core/tls-reload.ts';
import { TlsSecretPoller } from '../../core/tls-secret-poller.ts';
import { startImapWorld, type ImapWorld } from '../mailbox-server/imap/helpers/imap-world.ts';
import { SecretsStub } from '../helpers/secrets-stub.ts';
import { SocketReader } from '../helpers/socket-reader.ts';

const certificate = (name: string): TlsCredentials => {
  const now = Date.now();
  return createSelfSignedCertificate(name, [name, 'localhost', '127.0.0.1'], new Date(now - 60_000), new Date(now + 86_400_000));
};
const fingerprint = (c: TlsCredentials) => new X509Certificate(c.cert).fingerprint256;
const secretOf = (c: TlsCredentials) => JSON.stringify({ key: c.key.trimEnd(), chain: c.cert.trimEnd() });

async function openImaps(port: number): Promise<{ socket: TLSSocket; said: (until: RegExp) => Promise<string> }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const reader = new SocketReader(socket);
  // What `until` matched, the text before it read and dropped.
  const said = async (until: RegExp) => until.exec(await reader.through(until))![0];
  return { socket, said };
}

describe('TlsSecretPoller', () => {
  const first = certificate('mail.example.test');
  const renewed = certificate('mail.example.test');
  let imap: ImapWorld;
  let dir: string;

  before(async () => {
    imap = await startImapWorld({ tls: first });
    dir = mkdtempSync(join(tmpdir(), 'mail-tls-secret-'));
  });
  after(async () => {
    await imap?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings a new secret version to a running IMAPS listener: new clients see it, an open session goes on', async (t) => {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'chain.pem');
    // As the entrypoint writes them from the variables ECS injected (infra/images/tls-from-env.sh).
    writeFileSync(keyFile, `${first.key.trimEnd()}\n`);
    writeFileSync(certFile, `${first.cert.trimEnd()}\n`);
    const secrets = new SecretsStub();
    const secretId = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail-tls-AbCdEf';
    secrets.create(secretId, secretOf(first));

    let reloaded!: () => void;
    const swapped = new Promise<void>((resolve) => (reloaded = resolve));
    const events: string[] = [];
    const log: ServiceLog = { info: (e) => { events.push(e); if (e === 'tls.reloaded') reloaded(); }, warn: (e) => void events.push(e), error: (e) => void events.push(e) };
    const watch = watchCertificateFiles(keyFile, certFile, { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') }, (c) => imap.server.replaceTls(c), log, 50);
    t.after(() => watch.close());
    const poller = new TlsSecretPoller({ secrets: secrets.client, secretId, keyFile, certFile, intervalMs: 3_600_000, log });
    t.after(() => poller.stop());

    // The first poll finds what the entrypoint wrote: nothing is rewritten.
    assert.equal(await poller.poll(), 'same-as-files');
    assert.equal(await poller.poll(), 'unchanged', 'the same version is not read twice into the files');

    const open = await openImaps(imap.tlsPort);
    t.after(() => open.socket.destroy());
    await open.said(/^\* OK.*\r\n/m);
    assert.equal(open.socket.getPeerCertificate().fingerprint256, fingerprint(first));

    // ACM renewed, the export function wrote a new version.
    secrets.put(secretId, secretOf(renewed));
    assert.equal(await poller.poll(), 'written');
    await swapped;
    assert.ok(events.includes('tls.secret-written'), events.join(' '));

    const fresh = await openImaps(imap.tlsPort);
    t.after(() => fresh.socket.destroy());
    await fresh.said(/^\* OK.*\r\n/m);
    assert.equal(fresh.socket.getPeerCertificate().fingerprint256, fingerprint(renewed), 'a new client sees the renewed certificate');

    open.socket.write('a1 NOOP\r\n');
    assert.match(await open.said(/^a1 .*\r\n/m), /^a1 OK/, 'the session opened before the swap goes on');
    assert.equal(open.socket.getPeerCertificate().fingerprint256, fingerprint(first));
    assert.deepEqual(secrets.requests.map((r) => r.command), ['GetSecretValue', 'GetSecretValue', 'GetSecretValue']);
  });

  it('leaves the files alone when the secret is unreachable or its new version is not a matching pair', async (t) => {
    const keyFile = join(dir, 'k2.pem');
    const certFile = join(dir, 'c2.pem');
    writeFileSync(keyFile, `${first.key.trimEnd()}\n`);
    writeFileSync(certFile, `${first.cert.trimEnd()}\n`);
    const secrets = new SecretsStub();
    secrets.create('tls', secretOf(first));
    const events: string[] = [];
    const log: ServiceLog = { info: (e) => void events.push(e), warn: (e) => void events.push(e), error: (e) => void events.push(e) };
    const poller = new TlsSecretPoller({ secrets: secrets.client, secretId: 'tls', keyFile, certFile, intervalMs: 3_600_000, log });
    t.after(() => poller.stop());

    secrets.failing = new Error('connect ETIMEDOUT');
    assert.equal(await poller.poll(), 'failed');
    secrets.failing = null;
    // The renewed certificate with the old key: refused, reported once.
    secrets.put('tls', JSON.stringify({ key: first.key, chain: renewed.cert }));
    assert.equal(await poller.poll(), 'invalid');
    assert.equal(await poller.poll(), 'unchanged');
    assert.deepEqual(events, ['tls.secret-poll-failed', 'tls.secret-invalid']);
    assert.equal(readFileSync(certFile, 'utf8'), `${first.cert.trimEnd()}\n`);
    // The next good version is written.
    secrets.put('tls', secretOf(renewed));
    assert.equal(await poller.poll(), 'written');
    assert.equal(readFileSync(certFile, 'utf8'), `${renewed.cert.trimEnd()}\n`);
    assert.equal(readFileSync(keyFile, 'utf8'), `${renewed.key.trimEnd()}\n`);
  });
});
