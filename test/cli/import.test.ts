// `mailctl import imap` against a real Dovecot: nested folders with a `.` delimiter, non-ASCII
// names (modified UTF-7 on the wire), special-use folders, flags, keywords, dates and a large
// attachment; a run killed with SIGKILL, a rerun with nothing new, and a source whose
// connection is cut in the middle of a FETCH.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { startDovecot, type Dovecot } from '../helpers/dovecot.ts';
import { eventually } from '../helpers/eventually.ts';
import type { Store } from '../../core/store/index.ts';
import type { BlobStore } from '../../core/blobs.ts';
import { type MailctlRun, runMailctl, startCliStack } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const USER = 'alice@source.test';
const PASSWORD = 'source-secret';

let store: Store;
let blobs: BlobStore;
let dovecot: Dovecot;
let dataDir: string;
const closers: Array<() => unknown> = [];

/** What the source holds: folder (as the source names it, `.` delimited) → messages in UID order. */
interface Seeded {
  readonly raw: Buffer;
  readonly flags: string[];
  readonly date: Date;
}
const seeded = new Map<string, Seeded[]>();
/** Source folder → the mailbox it must land in here. */
const EXPECTED_TARGETS: Record<string, string> = {
  INBOX: 'INBOX',
  Work: 'Work',
  'Work.Projects 2024': 'Work/Projects 2024',
  'Überweisungen': 'Überweisungen',
  'Überweisungen.日本語 & more': 'Überweisungen/日本語 & more',
  'Sent Messages': 'Sent',
  'Junk E-mail': 'Junk',
  'Archiv.2019': 'Archive/2019',
  Archiv: 'Archive',
};

const CRLF = (lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');

function messageNumber(folder: string, i: number): Seeded {
  const date = new Date(Date.UTC(2015, 0, 1) + (i * 37 + folder.length) * 3_600_000);
  const id = `<${folder.replace(/[^A-Za-z0-9]/g, '_')}.${i}@source.test>`;
  const flags = [
    ...(i % 2 === 0 ? ['\\Seen'] : []),
    ...(i % 5 === 0 ? ['\\Flagged'] : []),
    ...(i % 7 === 0 ? ['\\Answered'] : []),
    ...(i % 11 === 0 ? ['$Label1'] : []),
    ...(i % 13 === 0 ? ['Project-X'] : []),
  ];
  const kind = i % 4;
  const header = [`From: Sender ${i} <s${i}@example.org>`, `To: ${USER}`, `Subject: =?UTF-8?B?${Buffer.from(`Grüße Nr. ${i} — ${folder}`).toString('base64')}?=`, `Date: ${date.toUTCString()}`, `Message-ID: ${id}`];
  let raw: Buffer;
  if (kind === 0) raw = CRLF([...header, '', `Plain body ${i}.`, 'From the start of a line.', '']);
  else if (kind === 1) raw = CRLF([...header, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', `Ünïcödé body ${i} 日本語`, '']);
  else if (kind === 2)
    raw = CRLF([...header, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', `part ${i}`, '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', Buffer.alloc(300 + i * 10, i).toString('base64'), '--b--']);
  else raw = CRLF([...header, '', ...Array.from({ length: 20 + i }, (_, n) => `line ${n}   with trailing spaces   `)]);
  return { raw, flags, date };
}

/** A message with a ~6 MiB attachment: more than one S3 multipart part, several FETCH chunks. */
function largeMessage(): Seeded {
  const date = new Date(Date.UTC(2020, 5, 15, 12, 30, 45));
  const attachment = Buffer.alloc(4_600_000);
  for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 7919) % 251;
  const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = CRLF(['From: big@example.org', `To: ${USER}`, 'Subject: large attachment', 'Message-ID: <large@source.test>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="x"', '', '--x', 'Content-Type: text/plain', '', 'see attached', '--x', 'Content-Type: application/octet-stream; name="big.bin"', 'Content-Transfer-Encoding: base64', '', b64, '--x--']);
  return { raw, flags: ['\\Seen', 'Important'], date };
}

async function seedSource(): Promise<void> {
  const counts: Record<string, number> = { INBOX: 120, Work: 40, 'Work.Projects 2024': 30, 'Überweisungen': 20, 'Überweisungen.日本語 & more': 20, 'Sent Messages': 30, 'Junk E-mail': 10, Archiv: 5, 'Archiv.2019': 25 };
  for (const [folder, n] of Object.entries(counts)) seeded.set(folder, Array.from({ length: n }, (_, i) => messageNumber(folder, i)));
  seeded.get('Work.Projects 2024')!.splice(7, 0, largeMessage());
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.ports.imap, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    for (const folder of seeded.keys()) if (folder !== 'INBOX') await client.mailboxCreate(folder.split('.')).catch(() => undefined);
    for (const [folder, messages] of seeded) {
      for (const m of messages) await client.append(folder.split('.').join('.'), m.raw, m.flags, m.date);
    }
  } finally {
    await client.logout();
  }
}

before(async () => {
  const cli = await startCliStack('mailctl-import-');
  closers.push(() => cli.close());
  ({ store, blobs, dataDir } = cli);
  writeFileSync(join(dataDir, 'source-password'), `${PASSWORD}\n`);
  // RFC 6154 SPECIAL-USE on one folder; the others are recognised by name; `.` as delimiter.
  dovecot = await startDovecot({
    users: { [USER]: PASSWORD },
    extraConfig: 'namespace inbox {\n  inbox = yes\n  separator = .\n  mailbox "Sent Messages" {\n    special_use = \\Sent\n  }\n}\n',
  });
  closers.push(() => dovecot.stop());
  await seedSource();
  await store.directory.addDomain('target.test');
});
after(async () => {
  for (const close of closers.reverse()) await close();
});

type Run = MailctlRun;

const mailctl = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) => runMailctl(dataDir, args, options);

const sourceUrl = (port: number) => `imap://${encodeURIComponent(USER)}@127.0.0.1:${port}`;
const importArgs = (account: string, port = dovecot.ports.imap) => ['import', 'imap', sourceUrl(port), account, '--insecure', '--password-file', join(dataDir, 'source-password')];

function summaryOf(run: Run): { copied: number; skipped: number; failed: number; failures: unknown[] } {
  const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
  const summary = lines.find((l) => l.event === 'summary');
  assert.ok(summary, `a summary line in ${run.stdout} (stderr: ${run.stderr})`);
  return summary as never;
}

/** Every seeded message is in its target mailbox exactly once, in order, byte-exact, with its flags and date. */
async function assertExactCopy(account: string): Promise<void> {
  const names = (await store.mailStore.listMailboxes(account)).map((m) => m.name);
  for (const [folder, target] of Object.entries(EXPECTED_TARGETS)) {
    assert.ok(names.includes(target), `${folder} lands in ${target}; have ${names.join(', ')}`);
    const messages = await store.mailStore.listMessages(account, target);
    const expected = seeded.get(folder)!;
    assert.equal(messages.length, expected.length, `${target}: message count`);
    for (const [i, m] of messages.entries()) {
      const want = expected[i]!;
      assert.equal(m.size, want.raw.length, `${target} #${i}: size`);
      assert.ok((await blobs.getBuffer(m.blobKey)).equals(want.raw), `${target} #${i}: bytes`);
      assert.deepEqual([...m.flags].sort(), [...want.flags].sort(), `${target} #${i}: flags`);
      assert.equal(m.internalDate, want.date.toISOString(), `${target} #${i}: INTERNALDATE`);
    }
  }
}

test('import copies every folder byte-exact with flags, keywords and dates; a rerun copies nothing', async () => {
  await store.directory.addAccount('ann@target.test', 'pw');
  const first = await mailctl([...importArgs('ann@target.test'), '--json']);
  assert.equal(first.code, 0, first.stderr);
  const total = [...seeded.values()].reduce((n, m) => n + m.length, 0);
  assert.equal(summaryOf(first).copied, total);
  assert.equal(summaryOf(first).failed, 0);
  await assertExactCopy('ann@target.test');
  const specialUses = new Map((await store.mailStore.listMailboxes('ann@target.test')).map((m) => [m.name, m.specialUse]));
  assert.equal(specialUses.get('Sent'), '\\Sent');

  const again = await mailctl(importArgs('ann@target.test'));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^copied 0, already present 0, failed 0;/m);
  await assertExactCopy('ann@target.test');
});

test('include, exclude and map pick and rename folders', async () => {
  await store.directory.addAccount('ben@target.test', 'pw');
  const run = await mailctl([...importArgs('ben@target.test'), '--include', 'Work*', '--exclude', 'Work/Projects*', '--map', 'Work=Old/Work'], {});
  assert.equal(run.code, 0, run.stderr);
  const names = (await store.mailStore.listMailboxes('ben@target.test')).map((m) => m.name);
  assert.ok(names.includes('Old/Work'));
  assert.ok(!names.some((n) => n.includes('Projects')));
  assert.equal((await store.mailStore.listMessages('ben@target.test', 'Old/Work')).length, seeded.get('Work')!.length);
  assert.equal((await store.mailStore.listMessages('ben@target.test', 'INBOX')).length, 0);
});

test('an import killed with SIGKILL continues on the next run: nothing lost, nothing twice', async () => {
  await store.directory.addAccount('cid@target.test', 'pw');
  const child = spawn(process.execPath, ['--import', TSX, MAIN, '--data-dir', dataDir, ...importArgs('cid@target.test').slice(0, -2), '--password-env', 'SOURCE_PW'], {
    cwd: tmpdir(),
    env: { ...process.env, MAIL_DATA_DIR: '', SOURCE_PW: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  closers.push(() => child.kill('SIGKILL'));
  await eventually(async () => (await store.mailStore.getUsage('cid@target.test')) > 0 && (await store.mailStore.listMessages('cid@target.test', 'INBOX')).length >= 40, 'a part of INBOX copied', 240_000);
  child.kill('SIGKILL');
  await exited;

  const rerun = await mailctl([...importArgs('cid@target.test'), '--json']);
  assert.equal(rerun.code, 0, rerun.stderr);
  const summary = summaryOf(rerun);
  const total = [...seeded.values()].reduce((n, m) => n + m.length, 0);
  assert.ok(summary.copied > 0 && summary.copied < total, `the rerun continued where the killed run stopped (copied ${summary.copied} of ${total})`);
  await assertExactCopy('cid@target.test');
});

/** Forwards to Dovecot and cuts both sides once `limit` bytes came from the server. */
async function cuttingProxy(limit: number): Promise<{ port: number; server: Server; cut: () => boolean }> {
  let sent = 0;
  let didCut = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: dovecot.ports.imap });
    sockets.add(client).add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent >= limit) {
        didCut = true;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  return { port: (server.address() as AddressInfo).port, server, cut: () => didCut };
}

test('a source that drops the connection mid-FETCH is reported, and a rerun completes', async () => {
  await store.directory.addAccount('dee@target.test', 'pw');
  const proxy = await cuttingProxy(3_000_000);
  const cut = await mailctl(['import', 'imap', sourceUrl(proxy.port), 'dee@target.test', '--insecure'], { input: `${PASSWORD}\n` });
  assert.ok(proxy.cut(), 'the proxy cut the connection');
  assert.equal(cut.code, 1, `exit 1; stdout ${cut.stdout}`);
  const lines = cut.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, cut.stderr);
  assert.match(lines[0]!, /^mailctl: import stopped in .+; run it again to continue$/);
  assert.match(cut.stdout, /stopped: /);

  const rerun = await mailctl(importArgs('dee@target.test'));
  assert.equal(rerun.code, 0, rerun.stderr);
  await assertExactCopy('dee@target.test');
});

test('an account whose quota the source exceeds is refused before anything is copied', async () => {
  await store.directory.addAccount('eve@target.test', 'pw', { quotaBytes: 1_000_000 });
  const run = await mailctl(importArgs('eve@target.test'));
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^mailctl: \d+ bytes to import but eve@target\.test has 1000000 of its 1000000-byte quota left/);
  assert.equal(await store.mailStore.getUsage('eve@target.test'), 0);
});

test('a password in the source URL is refused; a wrong password is one line', async () => {
  const inUrl = await mailctl(['import', 'imap', `imap://${encodeURIComponent(USER)}:pw@127.0.0.1:${dovecot.ports.imap}`, 'ann@target.test']);
  assert.equal(inUrl.code, 1);
  assert.match(inUrl.stderr, /^mailctl: do not put the password in the URL/);
  const wrong = await mailctl(['import', 'imap', sourceUrl(dovecot.ports.imap), 'ann@target.test', '--insecure'], { input: 'nope\n' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^mailctl: the source refused the login/);
  assert.equal(wrong.stderr.trimEnd().split('\n').length, 1);
});

test('a folder whose UIDVALIDITY changed is matched by Message-ID, size and date, not copied again', async () => {
  // RFC 3501 §2.3.1.1: a folder recreated under the same name gets a new UIDVALIDITY. COPY keeps
  // flags and INTERNALDATE (RFC 3501 §6.4.7), so the new folder holds the same messages.
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.ports.imap, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  const extra = messageNumber('Junk E-mail', 99);
  try {
    const before = ((await client.status('Junk E-mail', { uidValidity: true })) || {}).uidValidity;
    await client.mailboxRename('Junk E-mail', 'Recreating');
    await client.mailboxCreate('Junk E-mail');
    const lock = await client.getMailboxLock('Recreating');
    try {
      await client.messageCopy('1:*', 'Junk E-mail');
    } finally {
      lock.release();
    }
    await client.mailboxDelete('Recreating');
    await client.append('Junk E-mail', extra.raw, extra.flags, extra.date);
    assert.notEqual(((await client.status('Junk E-mail', { uidValidity: true })) || {}).uidValidity, before, 'the test changed UIDVALIDITY');
  } finally {
    await client.logout();
  }
  const run = await mailctl([...importArgs('ann@target.test'), '--json']);
  assert.equal(run.code, 0, run.stderr);
  const summary = summaryOf(run);
  assert.equal(summary.copied, 1, 'only the new message');
  assert.equal(summary.skipped, seeded.get('Junk E-mail')!.length, 'the others matched');
  seeded.get('Junk E-mail')!.push(extra);
  await assertExactCopy('ann@target.test');
  const again = summaryOf(await mailctl([...importArgs('ann@target.test'), '--json']));
  assert.equal(again.copied + again.skipped, 0, 'the new UIDVALIDITY was recorded');
});

test('Ctrl-C stops the import cleanly: what was fetched is filed, the exit says to run again, the rerun completes', async () => {
  await store.directory.addAccount('fay@target.test', 'pw');
  const child = spawn(process.execPath, ['--import', TSX, MAIN, '--data-dir', dataDir, ...importArgs('fay@target.test')], {
    cwd: tmpdir(),
    env: { ...process.env, MAIL_DATA_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  closers.push(() => child.kill('SIGKILL'));
  await eventually(async () => (await store.mailStore.listMessages('fay@target.test', 'INBOX')).length >= 20, 'a part of INBOX copied', 240_000);
  child.kill('SIGINT');
  assert.equal(await exited, 1, stderr);
  assert.equal(stderr.trimEnd(), 'mailctl: import interrupted; run it again to continue');
  const rerun = await mailctl(importArgs('fay@target.test'));
  assert.equal(rerun.code, 0, rerun.stderr);
  await assertExactCopy('fay@target.test');
});
