#!/usr/bin/env node
// Runs before `npm test` and `npm run bench` (--bench; with --containers, before
// `npm run test:containers`): the end-to-end and differential tests drive real programs (swaks with
// TLS, Dovecot, fetchmail, curl, Python, Java for DynamoDB Local). Each is checked by what the
// tests need of it, not by a binary's presence (swaks without Net::SSLeay cannot STARTTLS).
// What is missing is installed through apt when we run as root on Debian; otherwise we stop at
// once with one line that names the packages. Tests never skip because a client is missing.
//
// Plain JavaScript on purpose: it must run before anything else, on whatever node npm starts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A program the tests use: how to tell it works, and the Debian packages that provide it. */
const REQUIREMENTS = [
  {
    what: 'swaks with TLS',
    // Debian's swaks (20201014) lists what it can do; TLS needs Net::SSLeay and IO::Socket::SSL
    works: () => /^=== TLS supported$/m.test(output('swaks', ['--support'])),
    packages: ['swaks', 'libnet-ssleay-perl', 'libio-socket-ssl-perl'],
  },
  {
    what: 'Dovecot IMAP and POP3 (the differential tests\' oracle)',
    works: () =>
      ['/usr/sbin/dovecot', '/usr/lib/dovecot/imap', '/usr/lib/dovecot/pop3'].every((p) => existsSync(p)) &&
      onPath('doveadm'),
    packages: ['dovecot-imapd', 'dovecot-pop3d'],
  },
  { what: 'fetchmail', works: () => succeeds('fetchmail', ['--version']), packages: ['fetchmail'] },
  { what: 'curl', works: () => succeeds('curl', ['--version']), packages: ['curl'] },
  { what: 'Python 3', works: () => succeeds('python3', ['-c', 'import imaplib, poplib, smtplib, ssl']), packages: ['python3'] },
  { what: 'Java (DynamoDB Local)', works: () => succeeds('java', ['-version']), packages: ['default-jre-headless'] },
];

/**
 * What `npm run bench` runs beside ours as its anchors; `npm test` needs them too, since
 * test/bench/ runs the benchmarks at a tiny size so they cannot rot.
 */
const BENCH_REQUIREMENTS = [
  {
    what: 'Postfix and smtp-sink (the SMTP anchors)',
    works: () => existsSync('/usr/sbin/postfix') && existsSync('/usr/sbin/smtp-sink') && existsSync('/etc/postfix/master.cf'),
    packages: ['postfix'],
  },
  {
    what: 'Dovecot LMTP (Postfix delivers into the Dovecot anchor through it)',
    works: () => existsSync('/usr/lib/dovecot/lmtp'),
    packages: ['dovecot-lmtpd'],
  },
];
/**
 * `--containers`: what `npm run test:containers` builds and runs the images with. Rootful podman
 * needs no uidmap; runc because crun fails on these machines' cgroups; debootstrap builds the
 * stand-in for the Dockerfile's base image. Python drives the services as in `npm test`.
 */
const CONTAINER_REQUIREMENTS = [
  {
    what: 'podman with runc',
    works: () => succeeds('podman', ['--version']) && succeeds('runc', ['--version']),
    packages: ['podman', 'runc'],
  },
  { what: 'debootstrap', works: () => onPath('debootstrap'), packages: ['debootstrap'] },
  { what: 'Python 3', works: () => succeeds('python3', ['-c', 'import imaplib, poplib, smtplib, ssl']), packages: ['python3'] },
];
const wanted = process.argv.includes('--containers')
  ? CONTAINER_REQUIREMENTS
  : [...REQUIREMENTS, ...BENCH_REQUIREMENTS];

function succeeds(command, args) {
  const run = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
  return run.status === 0;
}

function output(command, args) {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  return run.status === 0 ? run.stdout : '';
}

function onPath(command) {
  return succeeds('sh', ['-c', `command -v ${command}`]);
}

function missing() {
  return wanted.filter((requirement) => !requirement.works());
}

function canInstall() {
  return process.getuid?.() === 0 && succeeds('apt-get', ['--version']);
}

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  };
  // A package's postinst must not start a system daemon (Dovecot): the tests run their own.
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) spawnSync('sh', ['-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod +x ${policy}`]);
  try {
    run(['update', '-qq']);
    run(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  } finally {
    if (!hadPolicy) spawnSync('rm', ['-f', policy]);
  }
}

const packagesOf = (requirements) => [...new Set(requirements.flatMap((r) => r.packages))];

const who = process.argv.includes('--containers') ? 'npm run test:containers' : process.argv.includes('--bench') ? 'npm run bench' : 'npm test';
let absent = missing();
if (absent.length > 0 && canInstall()) {
  process.stderr.write(`${who}: installing ${packagesOf(absent).join(' ')} (for ${absent.map((r) => r.what).join(', ')})\n`);
  try {
    aptInstall(packagesOf(absent));
  } catch (err) {
    process.stderr.write(`${who}: ${err.message}\n`);
  }
  absent = missing();
}
if (absent.length > 0) {
  const packages = packagesOf(absent).join(' ');
  process.stderr.write(
    `${who} needs ${absent.map((r) => r.what).join(', ')}: install them with \`sudo apt-get install -y --no-install-recommends ${packages}\`\n`,
  );
  process.exit(1);
}
