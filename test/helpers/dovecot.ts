// Dovecot as a test oracle: a throw-away instance of Debian's dovecot (packages dovecot-imapd and
// dovecot-pop3d) on loopback, for differential tests of our IMAP and POP3 servers.
//
// API
//   const dovecot = await startDovecot({ users: { 'alice@example.test': 'pw' } });
//     Starts `dovecot -F -c <temp>/dovecot.conf` as a child process: its own base_dir, state and
//     maildirs under a temp dir, passwd-file auth with plaintext passwords, `ssl = no`, IMAP and
//     POP3 on random free loopback ports. Resolves once both ports answer with a greeting; throws
//     a clear error when the binary is missing (install: apt-get install -y dovecot-imapd dovecot-pop3d).
//   dovecot.ports.imap / dovecot.ports.pop3   the listening ports (127.0.0.1)
//   dovecot.users                              the users and their passwords
//   await appendViaImap(dovecot.ports.imap, user, password, [raw1, raw2], { mailbox: 'INBOX', flags: [] })
//     APPENDs each raw message (bytes as given; use CRLF fixtures) with imapflow and returns the
//     UIDs Dovecot assigned (UIDPLUS). Works against any IMAP server (ours too).
//   await dovecot.stop()                       SIGTERM (SIGKILL after 5 s) and removes the temp dir;
//                                              call it in after(), it is safe to call twice.
//   dovecot.logs()                             what Dovecot wrote to stderr, for failure messages.
//   startDovecot({ users, passwordScheme: 'SHA512-CRYPT' })   passwords hashed by `doveadm pw`
//   dovecot.mailUser                           uid/gid owning the maildirs (to write mail files directly)
//
// Running as root (CI containers): the mail processes run as the `dovecot` user the package
// creates (default_internal_user, and the static userdb uid/gid), the login processes as
// `dovenull`; the temp dir is made traversable for them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { eventually } from './eventually.ts';
import { freePort } from './free-port.ts';
import { connectSocket, SocketReader } from './socket-reader.ts';

export interface DovecotOptions {
  /** Users and plaintext passwords for the passwd-file. */
  readonly users: Record<string, string>;
  /** Extra lines appended to dovecot.conf. */
  readonly extraConfig?: string;
  /**
   * Store the passwords hashed with this scheme (`doveadm pw -s`, e.g. SHA512-CRYPT, Debian's
   * default), so a login costs what it costs in a real deployment; plaintext when absent.
   */
  readonly passwordScheme?: string;
}

export interface Dovecot {
  readonly ports: { readonly imap: number; readonly pop3: number };
  readonly users: Record<string, string>;
  readonly dir: string;
  /** Owner of the maildirs under `${dir}/home/<user>/Maildir`. */
  readonly mailUser: { readonly uid: number; readonly gid: number };
  logs(): string;
  stop(): Promise<void>;
}

const DOVECOT_CANDIDATES = ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];

function findDovecot(): string {
  const found = DOVECOT_CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'Dovecot is not installed (needed as the differential-test oracle): apt-get install -y dovecot-imapd dovecot-pop3d',
    );
  }
  for (const binary of ['imap', 'pop3']) {
    if (!existsSync(`/usr/lib/dovecot/${binary}`)) {
      throw new Error(`Dovecot's ${binary} server is missing: apt-get install -y dovecot-imapd dovecot-pop3d`);
    }
  }
  return found;
}


/** `{SCHEME}hash` of a password, as Dovecot's own tool writes it. */
function hashWithDoveadm(scheme: string, password: string): string {
  const result = spawnSync('doveadm', ['pw', '-s', scheme, '-p', password], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`doveadm pw -s ${scheme} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Numeric uid/gid of a system user, or null when it does not exist. */
function systemUser(name: string): { uid: number; gid: number } | null {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) return null;
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/** Resolves when `port` sends a greeting line starting with `prefix`; rejects after the deadline. */
async function waitForGreeting(port: number, prefix: string, child: ChildProcess, deadline: number): Promise<void> {
  const greets = async () => {
    if (child.exitCode !== null) throw new Error(`dovecot exited with code ${child.exitCode}`);
    const socket = await connectSocket(port).catch(() => null);
    if (!socket) return false;
    try {
      const greeting = await new SocketReader(socket).line(1000);
      return greeting?.startsWith(prefix) ?? false;
    } catch {
      return false;
    } finally {
      socket.destroy();
    }
  };
  await eventually(greets, `dovecot to greet on port ${port}`, Math.max(0, deadline - Date.now()), 50);
}

export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const binary = findDovecot();
  const dir = mkdtempSync(join(tmpdir(), 'dovecot-'));
  chmodSync(dir, 0o755);
  const [imap, pop3] = [await freePort(), await freePort()];
  const asRoot = userInfo().uid === 0;
  const mailUser = asRoot ? systemUser('dovecot') : { uid: userInfo().uid, gid: userInfo().gid };
  if (!mailUser) throw new Error('the dovecot system user is missing (the dovecot-core package creates it)');
  const loginUser = asRoot ? 'dovenull' : userInfo().username;
  const mailHome = join(dir, 'home');
  mkdirSync(mailHome, { mode: 0o755 });
  if (asRoot) chownSync(mailHome, mailUser.uid, mailUser.gid);

  const passwd = join(dir, 'passwd');
  // one doveadm run per distinct password: a benchmark's hundred users share one
  const hashes = new Map<string, string>();
  const hashed = (scheme: string, password: string) => hashes.get(password) ?? hashes.set(password, hashWithDoveadm(scheme, password)).get(password)!;
  const stored = (password: string) => options.passwordScheme ? hashed(options.passwordScheme, password) : `{PLAIN}${password}`;
  writeFileSync(passwd, Object.entries(options.users).map(([user, password]) => `${user}:${stored(password)}::::::\n`).join(''), { mode: 0o644 });

  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `# Throw-away test instance; nothing from /etc/dovecot is read.
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = test-${imap}
log_path = /dev/stderr
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${asRoot ? 'dovecot' : userInfo().username}
default_internal_group = ${asRoot ? 'dovecot' : String(userInfo().gid)}
default_login_user = ${loginUser}
first_valid_uid = ${Math.min(mailUser.uid, 1)}
first_valid_gid = 0
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${passwd}
}
userdb {
  driver = static
  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${mailHome}/%u
}
service imap-login {
  inet_listener imap {
    port = ${imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = ${pop3}
  }
  inet_listener pop3s {
    port = 0
  }
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
  pop3_lock_session = yes
}
${options.extraConfig ?? ''}
`,
  );

  let stderr = '';
  const child = spawn(binary, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-64 * 1024);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 20_000;
    await waitForGreeting(imap, '* OK', child, deadline);
    await waitForGreeting(pop3, '+OK', child, deadline);
  } catch (error) {
    await stop();
    throw new Error(`dovecot did not start: ${(error as Error).message}\n${stderr}`);
  }
  return { ports: { imap, pop3 }, users: { ...options.users }, dir, mailUser, logs: () => stderr, stop };
}

/** APPENDs raw messages over IMAP (imapflow, no TLS: loopback test servers only); returns their UIDs. */
export async function appendViaImap(
  port: number,
  user: string,
  password: string,
  messages: readonly Buffer[],
  options: { mailbox?: string; flags?: string[] } = {},
): Promise<number[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false });
  await client.connect();
  try {
    const uids: number[] = [];
    for (const raw of messages) {
      const result = await client.append(options.mailbox ?? 'INBOX', raw, options.flags ?? []);
      if (!result || typeof result === 'boolean' || result.uid === undefined) throw new Error('APPEND gave no UID (UIDPLUS)');
      uids.push(result.uid);
    }
    return uids;
  } finally {
    await client.logout().catch(() => client.close());
  }
}
