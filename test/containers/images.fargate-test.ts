// Both service images, built from their targets of infra/images/Dockerfile with podman and run
// the way ECS Fargate runs the task definition (infra/constructs/mail-service.ts): read-only root file system, user node,
// the task's scratch volume at /tmp, the TLS key and chain injected from Secrets Manager as
// environment variables. Real clients (Python smtplib, imaplib, poplib) then speak SMTP, IMAP and
// POP3 to them, in clear, after STARTTLS and over implicit TLS, against emulators on loopback.
//
// Where this differs from Fargate: the base image is a local stand-in for node:24-slim
// (node-stand-in.Containerfile says how it differs); the images are built for this machine's
// architecture, not linux/arm64; the containers share the host's network (no awsvpc ENI, so they
// bind 127.0.0.1 on free ports rather than 0.0.0.0 on the fixed ones); the runtime is runc.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { coreConfigToEnv } from '../../core/config.ts';
import { createStore } from '../../core/store/index.ts';
import { createSelfSignedCertificate, type TlsCredentials } from '../../core/tls.ts';
import { EDGE_PORTS, MAILBOX_PORTS, SERVICE_ENV, SERVICE_IMAGE_TARGETS } from '../../infra/service-contract.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { eventually } from '../helpers/eventually.ts';
import { buildImage, ensureNodeStandIn, globalArgs, podman, podmanEnv } from './podman.ts';
import { freePort } from '../helpers/free-port.ts';
import { connectSocket, SocketReader } from '../helpers/socket-reader.ts';

const EDGE_IMAGE = 'localhost/mail-test/smtp-edge';
const MAILBOX_IMAGE = 'localhost/mail-test/mailbox-server';
const DOMAIN = 'container.test';
const USER = `user@${DOMAIN}`;
const PASSWORD = 'correct horse battery staple';


interface Container {
  readonly name: string;
  readonly logs: string[];
  /** Ports the service reports in its ready line. */
  readonly ports: Record<string, number>;
  /** `podman stop` (SIGTERM, as ECS stops a task); resolves with the container's exit code. */
  stop(): Promise<number | null>;
  /** Stops it if it still runs and removes it and its volume; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * ECS mounts a task volume root-owned 0755 unless the image declares VOLUME at the path; then it
 * starts as a copy of the image's directory (Amazon ECS Developer Guide, "Bind mounts"). Podman
 * does the second for a named volume, so: a named volume where the image declares one, otherwise
 * a bind mount of an empty root-owned 0755 directory.
 */
async function taskVolume(image: string, containerPath: string, name: string): Promise<{ args: string[]; remove: () => Promise<void> }> {
  const { stdout } = await podman(['image', 'inspect', '--format', '{{json .Config.Volumes}}', image]);
  const declared = Object.keys((JSON.parse(stdout.trim() || 'null') as Record<string, unknown> | null) ?? {});
  if (declared.includes(containerPath)) {
    await podman(['volume', 'create', name]);
    return { args: ['--volume', `${name}:${containerPath}`], remove: async () => void (await podman(['volume', 'rm', '--force', name]).catch(() => undefined)) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'mail-task-volume-'));
  chmodSync(dir, 0o755);
  return { args: ['--mount', `type=bind,src=${dir},dst=${containerPath}`], remove: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `image` as the task definition does and waits for its `{"event":"ready"}` line. */
async function runAsFargate(image: string, env: Record<string, string>): Promise<Container> {
  const name = `mail-test-${randomBytes(4).toString('hex')}`;
  const volume = await taskVolume(image, '/tmp', `${name}-tmp`);
  const logs: string[] = [];
  // The values travel in podman's own environment, as `--env NAME` reads them, so the PEM never
  // appears on a command line (ECS passes secrets to the container the same way: as variables).
  const child = spawn('podman', [
    ...globalArgs(), 'run', '--rm', '--name', name, '--network', 'host',
    '--read-only', '--read-only-tmpfs=false', '--user', 'node',
    ...volume.args,
    ...Object.keys(env).flatMap((k) => ['--env', k]),
    image,
  ], { env: podmanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => { running = false; });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${image} was not ready within 60 s:\n${logs.join('\n')}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        if (line.includes('"event":"ready"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { ports: Record<string, number> }).ports);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push(...chunk.toString().trimEnd().split('\n')));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${image} exited with ${code} before it was ready:\n${logs.join('\n')}`));
    });
  }).catch(async (err: unknown) => {
    await podman(['rm', '--force', '--ignore', name]).catch(() => undefined);
    await exited;
    await volume.remove();
    throw err;
  });
  const stop = async () => {
    if (running) await podman(['stop', '--time', '20', name]).catch(() => undefined);
    return exited;
  };
  return {
    name,
    logs,
    ports,
    stop,
    async remove() {
      await podman(['rm', '--force', '--ignore', name]).catch(() => undefined);
      await exited;
      await volume.remove();
    },
  };
}

function python(script: string, args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python3 failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

// Each connection verifies the certificate against the one injected as TLS_CERT_PEM (the only
// trust anchor given), so a service that fell back to a self-signed certificate fails here.
const SMTP_CLIENT = String.raw`
import json, smtplib, ssl, sys
mx, submission, smtps, cafile, user, password = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
out = {}
# Mail from outside comes From: an outside address: the MX refuses an unauthenticated From: of its
# own domains (docs/decisions/0014-inbound-authentication.md).
def message(subject, sender=None):
    return 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\nSent to the container.\r\n' % (sender or user, user, subject)
with smtplib.SMTP('127.0.0.1', int(mx), timeout=20) as s:
    s.ehlo('client.remote.test')
    out['mx_starttls_offered'] = s.has_extn('starttls')
    out['mx_plain'] = s.sendmail('sender@remote.test', [user], message('mx plain', 'sender@remote.test'))
with smtplib.SMTP('127.0.0.1', int(mx), timeout=20) as s:
    s.ehlo('client.remote.test')
    s.starttls(context=ctx)
    out['mx_starttls_version'] = s.sock.version()
    s.ehlo('client.remote.test')
    out['mx_starttls'] = s.sendmail('sender@remote.test', [user], message('mx starttls', 'sender@remote.test'))
with smtplib.SMTP('127.0.0.1', int(submission), timeout=20) as s:
    s.ehlo('client.test')
    s.starttls(context=ctx)
    out['submission_version'] = s.sock.version()
    s.ehlo('client.test')
    s.login(user, password)
    out['submission'] = s.sendmail(user, [user], message('submission starttls'))
with smtplib.SMTP_SSL('127.0.0.1', int(smtps), timeout=20, context=ctx) as s:
    out['smtps_version'] = s.sock.version()
    s.ehlo('client.test')
    s.login(user, password)
    out['smtps'] = s.sendmail(user, [user], message('submissions implicit tls'))
print(json.dumps(out))
`;

const MAILBOX_CLIENT = String.raw`
import imaplib, json, poplib, ssl, sys
imap, imaps, pop3, pop3s, cafile, user, password = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=cafile)
raw = b'From: <%s>\r\nSubject: appended in the container\r\n\r\nHello.\r\n' % user.encode()
out = {}
m = imaplib.IMAP4('127.0.0.1', int(imap), timeout=20)
out['imap_starttls'] = m.starttls(ssl_context=ctx)[0]
out['imap_version'] = m.sock.version()
m.login(user, password)
out['imap_append'] = m.append('INBOX', None, None, raw)[0]
m.select('INBOX', readonly=True)
out['imap_fetch'] = m.fetch('1', '(BODY.PEEK[])')[1][0][1].decode()
m.logout()
m = imaplib.IMAP4_SSL('127.0.0.1', int(imaps), ssl_context=ctx, timeout=20)
out['imaps_version'] = m.sock.version()
m.login(user, password)
out['imaps_exists'] = int(m.select('INBOX', readonly=True)[1][0])
m.logout()
p = poplib.POP3('127.0.0.1', int(pop3), timeout=20)
out['pop3_stls'] = p.stls(context=ctx).decode()
out['pop3_version'] = p.sock.version()
p.user(user); p.pass_(password)
out['pop3_retr'] = b'\r\n'.join(p.retr(1)[1]).decode() + '\r\n'
p.quit()
p = poplib.POP3_SSL('127.0.0.1', int(pop3s), context=ctx, timeout=20)
out['pop3s_version'] = p.sock.version()
p.user(user); p.pass_(password)
out['pop3s_stat'] = p.stat()[0]
p.quit()
print(json.dumps(out))
`;

/** What the task looks like from inside: the user, a read-only root, the entrypoint's TLS files. */
async function inside(container: Container): Promise<{ uid: string; rootWritable: boolean; tlsFiles: string; pemInEnv: boolean }> {
  const exec = (cmd: string) => podman(['exec', container.name, 'sh', '-c', cmd]).then((r) => r.stdout.trim());
  return {
    uid: await exec('id -u'),
    rootWritable: (await exec('touch /app/written 2>/dev/null && echo yes || echo no')) === 'yes',
    tlsFiles: await exec('stat -c "%a %U %n" /tmp/tls/key.pem /tmp/tls/chain.pem'),
    // The entrypoint unsets the variables before it execs the service (PID 1).
    pemInEnv: (await exec('tr "\\0" "\\n" < /proc/1/environ | grep -c "^TLS_.*_PEM=" || true')) !== '0',
  };
}

/** A TLS session on an implicit-TLS port, past the greeting. */
async function tlsSession(port: number, greeting: RegExp): Promise<{ socket: TLSSocket; say(line: string, answer: RegExp): Promise<string> }> {
  const socket = (await connectSocket(port, { tls: true })) as TLSSocket;
  const reader = new SocketReader(socket);
  await reader.through(greeting, 15_000);
  return {
    socket,
    say: (line, answer) => {
      socket.write(line);
      return reader.through(answer, 15_000);
    },
  };
}

/**
 * Renews the certificate the way a writer in the task would: the node user puts a new key and
 * chain over the entrypoint's files (each by rename), and the service, which watches them, logs
 * `tls.reloaded`. Returns the new certificate's fingerprint.
 */
async function renewInPlace(container: Container): Promise<string> {
  const now = Date.now();
  const renewed = createSelfSignedCertificate('mail.container.test', ['mail.container.test', '127.0.0.1'], new Date(now - 60_000), new Date(now + 60 * 86_400_000));
  const reloadsBefore = container.logs.filter((l) => l.includes('"event":"tls.reloaded"')).length;
  await podman(['exec', '--user', 'node', '--env', 'NEW_KEY', '--env', 'NEW_CERT', container.name, 'sh', '-c',
    'umask 077 && printf "%s\\n" "$NEW_KEY" > /tmp/tls/key.pem.new && mv /tmp/tls/key.pem.new /tmp/tls/key.pem && printf "%s\\n" "$NEW_CERT" > /tmp/tls/chain.pem.new && mv /tmp/tls/chain.pem.new /tmp/tls/chain.pem',
  ], { env: { NEW_KEY: renewed.key, NEW_CERT: renewed.cert } });
  await eventually(() => container.logs.filter((l) => l.includes('"event":"tls.reloaded"')).length > reloadsBefore, `tls.reloaded in the logs of ${container.name}`);
  return new X509Certificate(renewed.cert).fingerprint256;
}

describe('the service images, run as Fargate runs them', () => {
  let world: TestWorld;
  let certificate: TlsCredentials;
  let cafile: string;
  const cleanup: Array<() => Promise<void>> = [];

  before(async () => {
    const log = (line: string) => process.stderr.write(`test:containers: ${line}\n`);
    await ensureNodeStandIn(log);
    for (const [target, tag] of [[SERVICE_IMAGE_TARGETS.edge, EDGE_IMAGE], [SERVICE_IMAGE_TARGETS.mailbox, MAILBOX_IMAGE]] as const) {
      const started = Date.now();
      await buildImage(target, tag);
      log(`built target ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
    }
    world = await startTestWorld({ mail: { hostname: 'mail.container.test' } });
    cleanup.push(() => world.close());
    const { directory } = createStore(world.clients, world.config.resources);
    await directory.addDomain(DOMAIN);
    await directory.addAccount(USER, PASSWORD);
    const now = Date.now();
    certificate = createSelfSignedCertificate('mail.container.test', ['mail.container.test', '127.0.0.1'], new Date(now - 60_000), new Date(now + 30 * 86_400_000));
    const dir = mkdtempSync(join(tmpdir(), 'mail-containers-ca-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    cafile = join(dir, 'ca.pem');
    writeFileSync(cafile, certificate.cert);
  });

  after(async () => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
  });

  /** The task definition's environment: core's MAIL_* variables, the ports, and the two secrets. */
  const taskEnv = (ports: Record<string, number>, host: Record<string, string>) => ({
    ...coreConfigToEnv(world.config),
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    ...host,
    [SERVICE_ENV.tlsKeyPem]: certificate.key,
    [SERVICE_ENV.tlsCertPem]: certificate.cert,
  });

  it('smtp-edge: MX in clear and after STARTTLS, submission after STARTTLS, submissions over TLS; a renewed certificate in place; SIGTERM ends it cleanly', async (t) => {
    const ports = { [EDGE_PORTS.smtp.env]: await freePort(), [EDGE_PORTS.submission.env]: await freePort(), [EDGE_PORTS.smtps.env]: await freePort() };
    const edge = await runAsFargate(EDGE_IMAGE, taskEnv(ports, { [SERVICE_ENV.edgeHost]: '127.0.0.1' }));
    t.after(() => edge.remove());

    assert.deepEqual(await inside(edge), { uid: '1000', rootWritable: false, tlsFiles: '600 node /tmp/tls/key.pem\n600 node /tmp/tls/chain.pem', pemInEnv: false });
    const out = await python(SMTP_CLIENT, [String(ports.SMTP_PORT), String(ports.SMTP_SUBMISSION_PORT), String(ports.SMTP_SMTPS_PORT), cafile, USER, PASSWORD]);
    assert.deepEqual(out, {
      mx_starttls_offered: true, mx_plain: {},
      mx_starttls_version: 'TLSv1.3', mx_starttls: {},
      submission_version: 'TLSv1.3', submission: {},
      smtps_version: 'TLSv1.3', smtps: {},
    }, edge.logs.join('\n'));
    // 250 to DATA means the raw message is in S3 (written by the container through the emulator).
    const listed = await world.clients.s3.send(new ListObjectsV2Command({ Bucket: world.config.resources.bucket, Prefix: 'raw/' }));
    assert.equal(listed.KeyCount, 4, 'four messages stored');

    // A renewed certificate written over the files: an open session goes on, a new one sees it.
    const open = await tlsSession(ports.SMTP_SMTPS_PORT!, /^220 .*\r\n/m);
    t.after(() => open.socket.destroy());
    const renewed = await renewInPlace(edge);
    assert.match(await open.say('EHLO client.test\r\n', /^250 .*\r\n/m), /^250/m, 'the session opened before the renewal goes on');
    const fresh = await tlsSession(ports.SMTP_SMTPS_PORT!, /^220 .*\r\n/m);
    t.after(() => fresh.socket.destroy());
    assert.equal(fresh.socket.getPeerCertificate().fingerprint256, renewed, 'a new connection gets the renewed certificate');
    open.socket.destroy();
    fresh.socket.destroy();

    assert.equal(await edge.stop(), 0, `the edge drains and exits 0 on SIGTERM:\n${edge.logs.join('\n')}`);
  });

  it('mailbox-server: IMAP after STARTTLS and over TLS, POP3 after STLS and over TLS; a renewed certificate in place; SIGTERM ends it cleanly', async (t) => {
    const ports = { [MAILBOX_PORTS.imap.env]: await freePort(), [MAILBOX_PORTS.imaps.env]: await freePort(), [MAILBOX_PORTS.pop3.env]: await freePort(), [MAILBOX_PORTS.pop3s.env]: await freePort() };
    const mailbox = await runAsFargate(MAILBOX_IMAGE, taskEnv(ports, { [SERVICE_ENV.mailboxHost]: '127.0.0.1' }));
    t.after(() => mailbox.remove());

    assert.deepEqual(await inside(mailbox), { uid: '1000', rootWritable: false, tlsFiles: '600 node /tmp/tls/key.pem\n600 node /tmp/tls/chain.pem', pemInEnv: false });
    const out = await python(MAILBOX_CLIENT, [String(ports.IMAP_PORT), String(ports.IMAPS_PORT), String(ports.POP3_PORT), String(ports.POP3S_PORT), cafile, USER, PASSWORD]);
    const raw = `From: <${USER}>\r\nSubject: appended in the container\r\n\r\nHello.\r\n`;
    assert.deepEqual(out, {
      imap_starttls: 'OK', imap_version: 'TLSv1.3', imap_append: 'OK', imap_fetch: raw,
      imaps_version: 'TLSv1.3', imaps_exists: 1,
      pop3_stls: out.pop3_stls, pop3_version: 'TLSv1.3', pop3_retr: raw,
      pop3s_version: 'TLSv1.3', pop3s_stat: 1,
    }, mailbox.logs.join('\n'));
    assert.match(String(out.pop3_stls), /^\+OK/);

    // A renewed certificate written over the files: an open session goes on, a new one sees it.
    const open = await tlsSession(ports.IMAPS_PORT!, /^\* OK.*\r\n/m);
    t.after(() => open.socket.destroy());
    const renewed = await renewInPlace(mailbox);
    assert.match(await open.say('a1 NOOP\r\n', /^a1 .*\r\n/m), /^a1 OK/m, 'the session opened before the renewal goes on');
    const fresh = await tlsSession(ports.IMAPS_PORT!, /^\* OK.*\r\n/m);
    t.after(() => fresh.socket.destroy());
    assert.equal(fresh.socket.getPeerCertificate().fingerprint256, renewed, 'a new connection gets the renewed certificate');
    open.socket.destroy();
    fresh.socket.destroy();

    assert.equal(await mailbox.stop(), 0, `the mailbox server drains and exits 0 on SIGTERM:\n${mailbox.logs.join('\n')}`);
  });
});
