// `mailctl import mbox|maildir|eml` and `mailctl export mbox|maildir`: an mbox with `From `
// lines in bodies (mboxrd escapes, an mboxcl2 message sized by Content-Length), and export then
// import into another account giving the same mailboxes, bytes, flags and dates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../../core/store/index.ts';
import { BlobStore, rawBlobKey } from '../../core/blobs.ts';
import { indexMessage } from '../../core/mime/index.ts';
import { type CliStack, runMailctl, startCliStack } from './helpers.ts';

let store: Store;
let blobs: BlobStore;
let dir: string;
let cli: CliStack;

before(async () => {
  cli = await startCliStack('mailctl-files-');
  ({ store, blobs, dataDir: dir } = cli);
  await store.directory.addDomain('files.test');
});
after(() => cli?.close());

const mailctl = (args: string[]) => runMailctl(dir, args, { timeoutMs: 120_000 });

async function ok(args: string[]): Promise<string> {
  const run = await mailctl(args);
  assert.equal(run.code, 0, `mailctl ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

const body = async (account: string, mailbox: string) =>
  Promise.all((await store.mailStore.listMessages(account, mailbox)).map(async (m) => ({ raw: (await blobs.getBuffer(m.blobKey)).toString('latin1'), flags: [...m.flags].sort(), date: m.internalDate })));

test('an mbox with From lines in bodies: mboxrd escapes undone, an unescaped line after text kept, an mboxcl2 body taken whole', async () => {
  const mboxcl2Body = 'first line\n\nFrom the top, an unescaped line in an mboxcl2 body\n';
  const mbox = [
    'From alice@example.org Thu Jan  1 10:00:00 2015',
    'Status: RO',
    'X-Status: F',
    'X-Keywords: Project-X',
    'Subject: one',
    '',
    '>From the escaped start of a line',
    '>>From doubly escaped',
    'text then',
    'From an mboxo line that follows text, not a separator',
    '',
    'From bob@example.org Fri Feb 13 23:31:30 2009',
    'Subject: two',
    `Content-Length: ${Buffer.byteLength(mboxcl2Body)}`,
    '',
    mboxcl2Body,
    'From carol@example.org Sat Mar  1 00:00:01 2025',
    'Subject: three',
    '',
    'last',
    '',
  ].join('\n');
  const path = join(dir, 'inbox.mbox');
  writeFileSync(path, mbox);
  await store.directory.addAccount('mia@files.test', 'pw');
  await ok(['import', 'mbox', path, 'mia@files.test', '--folder', 'Old Mail']);
  const got = await body('mia@files.test', 'Old Mail');
  assert.equal(got.length, 3);
  assert.equal(got[0]!.raw, 'Subject: one\r\n\r\nFrom the escaped start of a line\r\n>From doubly escaped\r\ntext then\r\nFrom an mboxo line that follows text, not a separator\r\n');
  assert.deepEqual(got[0]!.flags, ['Project-X', '\\Flagged', '\\Seen'].sort());
  assert.equal(got[0]!.date, '2015-01-01T10:00:00.000Z');
  assert.equal(got[1]!.raw, `Subject: two\r\nContent-Length: ${Buffer.byteLength(mboxcl2Body)}\r\n\r\nfirst line\r\n\r\nFrom the top, an unescaped line in an mboxcl2 body\r\n`);
  assert.equal(got[1]!.date, '2009-02-13T23:31:30.000Z');
  assert.equal(got[2]!.raw, 'Subject: three\r\n\r\nlast\r\n');

  const again = await ok(['import', 'mbox', path, 'mia@files.test', '--folder', 'Old Mail']);
  assert.match(again, /^copied 0, already present 0, failed 0;/m);

  // A mail client appended to the file (after the empty line RFC 4155 wants before a separator):
  // the folder's digest changed, so its messages are matched by Message-ID, size and date, and
  // only the new one is copied.
  appendFileSync(path, '\nFrom dan@example.org Sun Mar  2 00:00:01 2025\nSubject: four\n\nnew\n\n');
  const grown = await ok(['import', 'mbox', path, 'mia@files.test', '--folder', 'Old Mail']);
  assert.match(grown, /^copied 1, already present 3, failed 0;/m);
  assert.deepEqual((await body('mia@files.test', 'Old Mail')).map((m) => m.raw.split('\r\n')[0]), ['Subject: one', 'Subject: two', 'Subject: three', 'Subject: four']);
});

/** Seeds an account through the filing path with what an export must carry: nesting, non-ASCII names, flags, keywords, dates, `From ` lines. */
async function seedAccount(account: string): Promise<void> {
  await store.directory.addAccount(account, 'pw');
  const folders = ['INBOX', 'Sent', 'Projekte/Übersicht 日本', 'Work/2024/Q1'];
  let n = 0;
  for (const mailbox of folders) {
    if (!(await store.mailStore.getMailbox(account, mailbox))) await store.mailStore.createMailbox(account, mailbox);
    for (let i = 0; i < 6; i++, n++) {
      const raw = Buffer.from(
        [
          `From: Writer ${n} <w${n}@example.org>`,
          `Subject: message ${n} in ${mailbox}`,
          `Message-ID: <${n}@files.test>`,
          '',
          'From here on, a line that mbox must escape.',
          '>From an already quoted line.',
          i % 2 ? 'Grüße — 8bit' : '',
          i === 5 ? '' : 'end',
          '',
        ].join('\r\n'),
        'utf8',
      );
      const date = new Date(Date.UTC(2001 + n, n % 12, 1 + n, n % 24, n % 60, n % 60));
      const key = rawBlobKey(`seed-${account}-${n}`, date);
      await blobs.put(key, raw);
      const flags = [...(i % 2 ? ['\\Seen'] : []), ...(i % 3 === 0 ? ['\\Flagged', '$Label1'] : []), ...(i === 4 ? ['\\Answered', '\\Draft', 'Custom'] : [])];
      await store.mailStore.fileMessage({ account, mailbox, deliveryKey: `seed-${n}`, blobKey: key, size: raw.length, internalDate: date.toISOString(), flags, index: indexMessage(raw) });
    }
  }
}

async function assertSameMailboxes(from: string, to: string): Promise<void> {
  const names = async (account: string) => (await store.mailStore.listMailboxes(account)).filter((m) => m.uidNext > 1).map((m) => m.name).sort();
  assert.deepEqual(await names(to), await names(from));
  for (const name of await names(from)) assert.deepEqual(await body(to, name), await body(from, name), `mailbox ${name}`);
}

for (const format of ['mbox', 'maildir'] as const) {
  test(`export ${format} then import ${format} into another account gives the same mailboxes, bytes, flags and dates`, async () => {
    const from = `out-${format}@files.test`;
    const to = `in-${format}@files.test`;
    await seedAccount(from);
    await store.directory.addAccount(to, 'pw');
    const path = join(dir, `export-${format}`);
    // The order the issue wrote it in: export <account> <format> <path>.
    assert.match(await ok(['export', from, format, path]), /^exported 24 messages in \d+ mailboxes/m);
    if (format === 'mbox') assert.ok(readFileSync(join(path, 'INBOX.mbox'), 'latin1').includes('\r\n>From here on'), 'mboxrd escaping on the way out');
    if (format === 'maildir') assert.ok(readdirSync(path).includes('.Projekte.&ANw-bersicht &ZeVnLA-'), `Maildir++ names in modified UTF-7: ${readdirSync(path).join(', ')}`);
    assert.match(await ok(['import', format, path, to]), /^copied 24, already present 0, failed 0;/m);
    await assertSameMailboxes(from, to);
    const refused = await mailctl(['export', format, from, path]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^mailctl: .* exists and is not an empty folder/);
  });
}

test('a Maildir written by another program: flags from :2, keywords from dovecot-keywords, new/ unseen, dates from mtime', async () => {
  const root = join(dir, 'foreign-maildir');
  // Dovecot writes folder names in modified UTF-7: `.&ANw-berweisungen.2024` is Überweisungen/2024.
  for (const sub of ['cur', 'new', 'tmp', '.Lists.Node/cur', '.Lists.Node/new', '.&ANw-berweisungen.2024/cur']) mkdirSync(join(root, sub), { recursive: true });
  writeFileSync(join(root, '.&ANw-berweisungen.2024/cur', '1420070700.M4P1.host:2,'), 'Subject: d\n\nbody d\n');
  writeFileSync(join(root, 'dovecot-keywords'), '0 $Junk\n1 Work\n');
  const a = join(root, 'cur', '1420070400.M1P1.host,S=30:2,FRSb');
  const b = join(root, 'new', '1420070500.M2P1.host');
  const c = join(root, '.Lists.Node/cur', '1420070600.M3P1.host:2,ST');
  writeFileSync(a, 'Subject: a\n\nbody a\n');
  writeFileSync(b, 'Subject: b\r\n\r\nbody b\r\n');
  writeFileSync(c, 'Subject: c\n\nbody c\n');
  utimesSync(a, new Date('2015-01-01T00:00:00Z'), new Date('2015-01-01T00:00:00Z'));
  await store.directory.addAccount('md@files.test', 'pw');
  await ok(['import', 'maildir', root, 'md@files.test']);
  const inbox = await body('md@files.test', 'INBOX');
  assert.deepEqual(inbox.map((m) => m.raw), ['Subject: a\r\n\r\nbody a\r\n', 'Subject: b\r\n\r\nbody b\r\n']);
  assert.deepEqual(inbox[0]!.flags, ['Work', '\\Answered', '\\Flagged', '\\Seen'].sort());
  assert.equal(inbox[0]!.date, '2015-01-01T00:00:00.000Z');
  assert.deepEqual(inbox[1]!.flags, []);
  assert.deepEqual((await body('md@files.test', 'Lists/Node')).map((m) => m.flags), [['\\Deleted', '\\Seen']]);
  assert.deepEqual((await body('md@files.test', 'Überweisungen/2024')).map((m) => m.raw), ['Subject: d\r\n\r\nbody d\r\n']);
  assert.ok(readdirSync(root).length > 0);
});

test('import eml: every .eml file, dated by Received:', async () => {
  const emls = join(dir, 'emls');
  mkdirSync(emls);
  writeFileSync(join(emls, 'b.eml'), 'Received: from x by y; Tue, 3 Mar 2020 10:00:00 +0100\r\nDate: Mon, 2 Mar 2020 00:00:00 +0000\r\nSubject: b\r\n\r\nb\r\n');
  writeFileSync(join(emls, 'a.eml'), 'Date: Sun, 1 Mar 2020 12:00:00 +0000\nSubject: a\n\na\n');
  writeFileSync(join(emls, 'notes.txt'), 'not mail');
  await store.directory.addAccount('eml@files.test', 'pw');
  await ok(['import', 'eml', emls, 'eml@files.test', '--folder', 'Saved']);
  const saved = await body('eml@files.test', 'Saved');
  assert.deepEqual(saved.map((m) => [m.raw, m.date]), [
    ['Date: Sun, 1 Mar 2020 12:00:00 +0000\r\nSubject: a\r\n\r\na\r\n', '2020-03-01T12:00:00.000Z'],
    ['Received: from x by y; Tue, 3 Mar 2020 10:00:00 +0100\r\nDate: Mon, 2 Mar 2020 00:00:00 +0000\r\nSubject: b\r\n\r\nb\r\n', '2020-03-03T09:00:00.000Z'],
  ]);
});
