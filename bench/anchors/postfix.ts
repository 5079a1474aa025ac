// Postfix as the benchmarks' anchor for durable SMTP acceptance: Debian's postfix, a private
// instance with its own configuration and queue folders on a free loopback port, relaying the
// benchmark's domain into `discard:`. Like our edge, it answers 250 only once the message is in
// its queue on disk (fsync'd), so the two do the same job. smtp-sink, from the same package, is
// the protocol ceiling (it stores nothing).
//
//   const postfix = await startPostfix({ domains: ['example.test'] });  // postfix.port
//   startPostfix({ domains, transport: 'lmtp:inet:127.0.0.1:24' })      // delivering to Dovecot's LMTP
//   await postfix.stop();
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/free-port.ts';

const POSTFIX = '/usr/sbin/postfix';
const SMTP_SINK = '/usr/sbin/smtp-sink';

export interface AnchorServer {
  readonly port: number;
  stop(): Promise<void>;
}


/** Resolves once something on `port` sends an SMTP greeting; rejects after `timeoutMs`. */
async function greets(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(2000, () => { socket.destroy(); resolve(false); });
      socket.once('data', (d: Buffer) => { socket.end('QUIT\r\n'); resolve(d.toString().startsWith('220')); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing greeted on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * `transport` is where mail for the domains goes: `discard:` (the default: acceptance only) or,
 * for delivery to the Dovecot anchor, `lmtp:inet:127.0.0.1:<port>`.
 */
export async function startPostfix(options: { domains: readonly string[]; transport?: string }): Promise<AnchorServer> {
  if (!existsSync(POSTFIX)) throw new Error('Postfix is not installed: apt-get install -y --no-install-recommends postfix');
  const dir = mkdtempSync(join(tmpdir(), 'bench-postfix-'));
  chmodSync(dir, 0o755); // Postfix's own processes run as the postfix user
  const conf = join(dir, 'conf');
  const queue = join(dir, 'queue');
  const data = join(dir, 'data');
  for (const d of [conf, queue, data]) mkdirSync(d);
  chownSync(data, Number(spawnSync('id', ['-u', 'postfix']).stdout), Number(spawnSync('id', ['-g', 'postfix']).stdout));
  const port = await freePort();
  writeFileSync(join(conf, 'main.cf'), [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'myhostname = anchor.bench.local',
    'mydestination =',
    `relay_domains = ${options.domains.join(' ')}`,
    `transport_maps = inline:{ ${options.domains.map((d) => `${d}=${options.transport ?? 'discard:'}`).join(', ')} }`,
    'mynetworks = 127.0.0.0/8',
    'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination',
    // its own log file, so no syslog is needed (/dev/stdout cannot be opened on the socket
    // pair Node gives a child for its output)
    `maillog_file = ${join(dir, 'maillog')}`,
    `maillog_file_prefixes = ${dir}`,
    'biff = no',
    '',
  ].join('\n'));
  // Debian's master.cf, with the smtp service moved to our port
  const master = readFileSync('/etc/postfix/master.cf', 'utf8').replace(/^smtp(\s+)inet/m, `127.0.0.1:${port}$1inet`);
  writeFileSync(join(conf, 'master.cf'), master);

  const child = spawn(POSTFIX, ['-c', conf, 'start-fg'], { stdio: 'ignore' });
  const log = () => (existsSync(join(dir, 'maillog')) ? readFileSync(join(dir, 'maillog'), 'utf8') : '(no log)');
  const stop = async () => {
    spawnSync(POSTFIX, ['-c', conf, 'stop'], { stdio: 'ignore' });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await greets(port);
  } catch (err) {
    const text = log();
    await stop();
    throw new Error(`${(err as Error).message}\n${text}`);
  }
  return { port, stop };
}

/** smtp-sink: accepts and forgets every message (`-u postfix`, 1000 connections). */
export async function startSmtpSink(): Promise<AnchorServer> {
  if (!existsSync(SMTP_SINK)) throw new Error('smtp-sink is not installed: apt-get install -y --no-install-recommends postfix');
  const port = await freePort();
  const child = spawn(SMTP_SINK, ['-u', 'postfix', `127.0.0.1:${port}`, '1000'], { stdio: 'ignore' });
  const stop = async () => {
    child.kill('SIGTERM');
    await exited(child);
  };
  try {
    await greets(port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
