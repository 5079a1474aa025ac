// mailctl as users run it: the bin shim as a subprocess, against emulators described by a
// stack.json in a temporary data folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';
import { createStore, type Store } from '../../core/store/index.ts';
import { indexMessage } from '../../core/mime/index.ts';

const BIN = fileURLToPath(new URL('../../cli/bin/mailctl.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
/** The tsx loader as an absolute URL, so the child resolves it from any cwd. */
const TSX = import.meta.resolve('tsx');

let world: TestWorld;
let store: Store;
let dataDir: string;

before(async () => {
  world = await startTestWorld();
  store = createStore(world.clients, world.config.resources);
  dataDir = mkdtempSync(join(tmpdir(), 'mailctl-test-'));
  writeFileSync(join(dataDir, 'stack.json'), JSON.stringify({ config: world.config }));
});
after(async () => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await world?.close();
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `mailctl args...` from an unrelated cwd, optionally with piped stdin. By default it runs
 * cli/main.ts the way the bin shim does, minus the shim's own node start-up (the machine is
 * shared); `viaBin` goes through cli/bin/mailctl.js as `npx mailctl` does.
 */
function mailctl(args: string[], options: { input?: string; dataDir?: string; viaBin?: boolean } = {}): Promise<Run> {
  const entry = options.viaBin ? [BIN] : ['--import', TSX, MAIN];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...entry, '--data-dir', options.dataDir ?? dataDir, ...args],
      { cwd: tmpdir(), timeout: 60_000, env: { ...process.env, MAIL_DATA_DIR: '' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}

function assertOneLineFailure(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit code (stderr: ${run.stderr})`);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${run.stderr}`);
  assert.match(lines[0]!, /^mailctl: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

test('domains, accounts, aliases and passwords: add, list, change, remove', async () => {
  const ok = async (args: string[], input?: string) => {
    const run = await mailctl(args, input === undefined ? {} : { input });
    assert.equal(run.code, 0, `mailctl ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };
  assert.match(await ok(['domain', 'add', 'Example.TEST']), /added domain example\.test/);
  assert.match(await ok(['account', 'add', 'ann@example.test', '--password', 'first-secret']), /added account ann@example\.test/);
  await ok(['account', 'add', 'bob@example.test'], 'piped-secret\n');
  assert.ok(await store.directory.verifyPassword('bob@example.test', 'piped-secret'), 'the first line of stdin is the password');
  await ok(['alias', 'add', 'info@example.test', 'ann@example.test', 'bob@example.test']);
  await ok(['alias', 'add', '@example.test', 'ann@example.test']);

  // Reads do not depend on each other: run them side by side.
  const [domains, accounts, aliasJson, mailboxJson] = await Promise.all([
    ok(['domain', 'list', '--json']),
    ok(['account', 'list', 'example.test']),
    ok(['alias', 'list', '--json']),
    ok(['mailbox', 'list', 'ann@example.test', '--json']),
  ]);
  assert.deepEqual(JSON.parse(domains).map((d: { name: string }) => d.name), ['example.test']);
  assert.match(accounts, /^ACCOUNT\s+USED\s+QUOTA\s+CREATED\n/);
  assert.match(accounts, /ann@example\.test/);
  assert.match(accounts, /bob@example\.test/);
  assert.deepEqual(JSON.parse(aliasJson).map((a: { address: string; targets: string[] }) => [a.address, a.targets]).sort(), [
    ['@example.test', ['ann@example.test']],
    ['info@example.test', ['ann@example.test', 'bob@example.test']],
  ]);
  assert.ok(JSON.parse(mailboxJson).some((m: { name: string; uidNext: number }) => m.name === 'INBOX' && m.uidNext === 1));

  await ok(['account', 'passwd', 'ann@example.test', '--password', 'second-secret']);
  assert.ok(await store.directory.verifyPassword('ann@example.test', 'second-secret'));
  assert.equal(await store.directory.verifyPassword('ann@example.test', 'first-secret'), null);

  await ok(['alias', 'remove', '@example.test']);
  await ok(['account', 'remove', 'bob@example.test']);
  assert.deepEqual((await store.directory.listAliases('example.test')).map((a) => a.address), ['info@example.test']);
  assert.deepEqual(JSON.parse(await ok(['account', 'list', '--json'])).map((a: { address: string }) => a.address), ['ann@example.test']);
  assert.equal(await store.directory.getAccount('bob@example.test'), null);
});

test('account quota sets and lifts a quota; account list shows usage against it', async () => {
  await store.directory.addDomain('quota.test');
  await store.directory.addAccount('cat@quota.test', 'pw');
  await store.mailStore.fileMessage({
    account: 'cat@quota.test', mailbox: 'INBOX', deliveryKey: 'cli-quota', blobKey: 'raw/2026/01/01/cli-quota.eml',
    size: 1234, internalDate: new Date().toISOString(), flags: [], index: indexMessage(Buffer.from('Subject: q\r\n\r\nbody\r\n')),
  });
  const set = await mailctl(['account', 'quota', 'cat@quota.test', '5000']);
  assert.equal(set.code, 0, set.stderr);
  assert.equal((await store.directory.getAccount('cat@quota.test'))!.quotaBytes, 5000);
  const [table, json] = await Promise.all([mailctl(['account', 'list', 'quota.test']), mailctl(['account', 'list', 'quota.test', '--json'])]);
  assert.match(table.stdout, /cat@quota\.test\s+1234\s+5000\s/);
  assert.deepEqual(JSON.parse(json.stdout).map((a: { usedBytes: number; quotaBytes: number }) => [a.usedBytes, a.quotaBytes]), [[1234, 5000]]);
  const lifted = await mailctl(['account', 'quota', 'cat@quota.test', 'none']);
  assert.equal(lifted.code, 0, lifted.stderr);
  assert.equal((await store.directory.getAccount('cat@quota.test'))!.quotaBytes, null);
  const bad = await mailctl(['account', 'quota', 'cat@quota.test', 'lots']);
  assert.equal(bad.code, 2);
});

test('account send-as lets an account send as any address of some domains; none takes it back', async () => {
  await store.directory.addDomain('sendas.test');
  await store.directory.addAccount('dan@sendas.test', 'pw');
  const set = await mailctl(['account', 'send-as', 'dan@sendas.test', 'Partner.TEST', 'news.example']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /dan@sendas\.test may send as \*@news\.example, \*@partner\.test/);
  assert.deepEqual((await store.directory.getAccount('dan@sendas.test'))!.sendAsDomains, ['news.example', 'partner.test']);
  const cleared = await mailctl(['account', 'send-as', 'dan@sendas.test', 'none', '--json']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.deepEqual(JSON.parse(cleared.stdout).sendAsDomains, []);
  const [noAccount, badDomain, mixed] = await Promise.all([
    mailctl(['account', 'send-as', 'nobody@sendas.test', 'partner.test']),
    mailctl(['account', 'send-as', 'dan@sendas.test', 'not a domain']),
    mailctl(['account', 'send-as', 'dan@sendas.test', 'none', 'partner.test']),
  ]);
  assert.equal(noAccount.code, 1);
  assert.equal(badDomain.code, 1);
  assert.equal(mixed.code, 2);
});

test('domain postmaster sets where postmaster@domain goes (the first account made, by default), shows it in domain list; none gives it back', async () => {
  await store.directory.addDomain('pm.test');
  await store.directory.addAccount('zoe@pm.test', 'pw');
  await store.directory.addAccount('abby@pm.test', 'pw');
  assert.deepEqual(await store.directory.resolveRecipient('postmaster@pm.test'), { kind: 'local', accounts: ['zoe@pm.test'], forwards: [] }, 'the first account made');
  const set = await mailctl(['domain', 'postmaster', 'pm.test', 'Abby@PM.test']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /postmaster@pm\.test goes to abby@pm\.test/);
  assert.deepEqual(await store.directory.resolveRecipient('POSTMASTER@pm.test'), { kind: 'local', accounts: ['abby@pm.test'], forwards: [] });
  assert.match((await mailctl(['domain', 'list'])).stdout, /^pm\.test\s+\S.*\s+abby@pm\.test$/m);
  const typo = await mailctl(['domain', 'postmaster', 'pm.test', 'zo@pm.test']);
  assert.equal(typo.code, 1, 'a local target must exist');
  const cleared = await mailctl(['domain', 'postmaster', 'pm.test', 'none', '--json']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal(JSON.parse(cleared.stdout).postmaster, 'zoe@pm.test', 'none: back to the oldest account');
});

test('domain inbound-policy shows the defaults, changes one setting at a time, refuses unknown values', async () => {
  await store.directory.addDomain('policy.test');
  const shown = await mailctl(['domain', 'inbound-policy', 'policy.test', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout).inboundPolicy, { dmarcReject: 'reject', dmarcQuarantine: 'quarantine', ownDomainForgery: 'reject' });
  const changed = await mailctl(['domain', 'inbound-policy', 'policy.test', '--dmarc-reject', 'quarantine']);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /p=reject failing DMARC → quarantine; p=quarantine failing DMARC → quarantine; forged From: of our domains → reject/);
  const again = await mailctl(['domain', 'inbound-policy', 'policy.test', '--own-domain-forgery', 'accept', '--json']);
  assert.deepEqual(JSON.parse(again.stdout).inboundPolicy, { dmarcReject: 'quarantine', dmarcQuarantine: 'quarantine', ownDomainForgery: 'accept' }, 'the earlier change stays');
  assert.deepEqual((await store.directory.getDomain('policy.test'))?.inboundPolicy, { dmarcReject: 'quarantine', ownDomainForgery: 'accept' });
  assertOneLineFailure(await mailctl(['domain', 'inbound-policy', 'policy.test', '--dmarc-reject', 'bounce']), 2, /--dmarc-reject wants one of reject, quarantine, accept/);
  assertOneLineFailure(await mailctl(['domain', 'inbound-policy', 'nowhere.test']), 1, /No such domain nowhere\.test/);
});

test('failures exit non-zero with one line and no stack trace', async () => {
  await store.directory.addDomain('errors.test');
  await store.directory.addAccount('taken@errors.test', 'pw');
  const [unknownDomain, duplicate, badAddress, notEmpty, usage, badOption, noStack, noAccount] = await Promise.all([
    mailctl(['account', 'add', 'x@nowhere.test', '--password', 'pw']),
    mailctl(['account', 'add', 'taken@errors.test', '--password', 'pw']),
    mailctl(['account', 'add', 'not an address', '--password', 'pw']),
    mailctl(['domain', 'remove', 'errors.test']),
    mailctl(['account', 'add']),
    mailctl(['domain', 'list', '--password', 'pw']),
    mailctl(['domain', 'list'], { dataDir: join(dataDir, 'nothing-here') }),
    mailctl(['message', 'list', 'nobody@errors.test']),
  ]);
  assertOneLineFailure(unknownDomain, 1, /nowhere\.test/);
  assertOneLineFailure(duplicate, 1, /taken@errors\.test.*exists|exists.*taken@errors\.test/i);
  assertOneLineFailure(badAddress, 1, /invalid/i);
  assertOneLineFailure(notEmpty, 1, /errors\.test/);
  assertOneLineFailure(usage, 2, /account add.*--help/);
  assertOneLineFailure(badOption, 2, /--password.*domain list/);
  assertOneLineFailure(noStack, 1, /no local stack at .*stack\.json.*npm start/);
  assertOneLineFailure(noAccount, 1, /no account nobody@errors\.test/);
  assert.equal(duplicate.stdout, '');
});

test('message list shows a filed message with its decoded subject and sender', async () => {
  await store.directory.addDomain('mail.test');
  const account = (await store.directory.addAccount('reader@mail.test', 'pw')).address;
  const raw = Buffer.from(
    'From: =?UTF-8?Q?Ren=C3=A9e?= <renee@elsewhere.example>\r\nTo: reader@mail.test\r\n' +
      'Subject: =?UTF-8?B?R3LDvMOfIGF1cyBCZXJsaW4=?=\r\nDate: Fri, 20 Nov 2026 10:15:00 +0000\r\n\r\nHello\r\n',
  );
  await store.mailStore.fileMessage({
    account,
    mailbox: 'INBOX',
    deliveryKey: 'cli-test-0001',
    blobKey: 'raw/2026/11/20/cli-test-0001.eml',
    size: raw.length,
    internalDate: '2026-11-20T10:15:30.000Z',
    flags: ['\\Seen'],
    index: indexMessage(raw),
  });
  const table = await mailctl(['message', 'list', account]);
  assert.equal(table.code, 0, table.stderr);
  const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
  assert.match(header!, /^UID\s+DATE\s+FROM\s+SIZE\s+SUBJECT$/);
  assert.deepEqual(rest, []);
  assert.match(row!, new RegExp(`^\\s*1\\s+2026-11-20 10:15:30Z\\s+Renée <renee@elsewhere\\.example>\\s+${raw.length}\\s+Grüß aus Berlin$`));

  const json = await mailctl(['message', 'list', account, 'INBOX', '--json']);
  assert.deepEqual(JSON.parse(json.stdout), [
    { uid: 1, internalDate: '2026-11-20T10:15:30.000Z', from: 'Renée <renee@elsewhere.example>', subject: 'Grüß aus Berlin', size: raw.length, flags: ['\\Seen'] },
  ]);
  const empty = await mailctl(['message', 'list', account, 'Sent']);
  assert.equal(empty.stdout.trim(), '(no messages)');
});

test('--help describes each command and exits 0; the bin shim passes arguments and exit codes through', async () => {
  const [general, group, command, failing] = await Promise.all([
    mailctl(['--help'], { viaBin: true }),
    mailctl(['alias', '--help']),
    mailctl(['account', 'passwd', '--help']),
    mailctl(['domain', 'list', 'surplus'], { viaBin: true }),
  ]);
  assertOneLineFailure(failing, 2, /'domain list' takes no arguments/);
  assert.equal(general.code, 0);
  assert.match(general.stdout, /message list <account> \[mailbox\]/);
  assert.equal(group.code, 0);
  assert.match(group.stdout, /alias add <address\|@domain> <target>\.\.\./);
  assert.equal(command.code, 0);
  assert.match(command.stdout, /usage: mailctl account passwd <address>/);
  assert.match(command.stdout, /--password <secret>/);
});
