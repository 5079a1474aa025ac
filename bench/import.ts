// Import speed: `mailctl import imap` from a throw-away Dovecot into the local stack (emulators
// on free ports, its own data folder), as a separate mailctl process (cli/main.ts on this Node;
// the bin adds only its start-up, which bench/mailctl.ts measures). Messages of BENCH_SIZE bytes
// spread over a few folders; reports messages/s and MB/s of the copy itself (the import's own
// summary), and the whole command's wall time including start-up and planning.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { startLocalStack } from '../local/stack.ts';
import { startDovecot } from '../test/helpers/dovecot.ts';

const ROOT = join(import.meta.dirname, '..');
const USER = 'bench@source.test';
const PASSWORD = 'bench-secret';
const FOLDERS = ['INBOX', 'Archive', 'Lists/Node'];

export interface ImportResult {
  readonly messages: number;
  readonly sizeBytes: number;
  readonly copied: number;
  readonly megabytes: number;
  readonly copySeconds: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly wallSeconds: number;
  /** A second run with nothing new: what a resumed or repeated import costs. */
  readonly rerunSeconds: number;
}

function message(i: number, size: number): Buffer {
  const head = `From: sender${i}@example.org\r\nTo: ${USER}\r\nSubject: bench ${i}\r\nMessage-ID: <bench.${i}@source.test>\r\nDate: ${new Date(Date.UTC(2020, 0, 1) + i * 60_000).toUTCString()}\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again.\r\n';
  return Buffer.from(head + line.repeat(Math.max(1, Math.ceil((size - head.length) / line.length))));
}

async function seed(port: number, messages: number, size: number): Promise<void> {
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    for (const folder of FOLDERS) if (folder !== 'INBOX') await client.mailboxCreate(folder.split('/'));
    const delimiter = (await client.list()).find((f) => f.path !== 'INBOX')?.delimiter ?? '/';
    for (let i = 0; i < messages; i++) {
      await client.append(FOLDERS[i % FOLDERS.length]!.split('/').join(delimiter), message(i, size), i % 3 ? ['\\Seen'] : [], new Date(Date.UTC(2020, 0, 1) + i * 60_000));
    }
  } finally {
    await client.logout();
  }
}

export async function runImportBenchmark(options: { messages: number; sizeBytes: number }): Promise<ImportResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-bench-import-'));
  const stack = await startLocalStack({ dataDir, ports: { objectQueue: 0, dynamo: 0 }, components: ['emulators'], log: () => undefined, graceMs: 3000 });
  const dovecot = await startDovecot({ users: { [USER]: PASSWORD } });
  try {
    await seed(dovecot.ports.imap, options.messages, options.sizeBytes);
    const main = ['--import', import.meta.resolve('tsx'), join(ROOT, 'cli', 'main.ts')];
    const env = { ...process.env, MAIL_DATA_DIR: dataDir, SOURCE_PASSWORD: PASSWORD };
    const mailctl = (args: string[], input = '') => execFileSync(process.execPath, [...main, ...args], { cwd: ROOT, env, input, maxBuffer: 64 * 1024 * 1024 }).toString('utf8');
    mailctl(['domain', 'add', 'target.test']);
    mailctl(['account', 'add', 'bench@target.test'], 'pw\n');
    const url = `imap://${encodeURIComponent(USER)}@127.0.0.1:${dovecot.ports.imap}`;
    const args = ['import', 'imap', url, 'bench@target.test', '--insecure', '--password-env', 'SOURCE_PASSWORD', '--json'];
    const summaryOf = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!) as { copied: number; bytes: number; seconds: number; messagesPerSecond: number; megabytesPerSecond: number };
    let started = process.hrtime.bigint();
    const summary = summaryOf(mailctl(args));
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    started = process.hrtime.bigint();
    const rerun = summaryOf(mailctl(args));
    const rerunSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (summary.copied !== options.messages || rerun.copied !== 0) throw new Error(`import copied ${summary.copied} of ${options.messages}, rerun ${rerun.copied}`);
    return {
      messages: options.messages,
      sizeBytes: options.sizeBytes,
      copied: summary.copied,
      megabytes: summary.bytes / 1024 / 1024,
      copySeconds: summary.seconds,
      messagesPerSecond: summary.messagesPerSecond,
      megabytesPerSecond: summary.megabytesPerSecond,
      wallSeconds,
      rerunSeconds,
    };
  } finally {
    await dovecot.stop();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printImport(r: ImportResult): void {
  console.log('\nimport imap: Dovecot → local stack, %d messages of %d bytes', r.messages, r.sizeBytes);
  console.log('  copy            %s msg/s   %s MB/s   (%s MB in %s s)', r.messagesPerSecond.toFixed(1), r.megabytesPerSecond.toFixed(2), r.megabytes.toFixed(1), r.copySeconds.toFixed(1));
  console.log('  whole command   %s s (start-up, login, planning included)', r.wallSeconds.toFixed(1));
  console.log('  rerun, nothing new  %s s', r.rerunSeconds.toFixed(1));
}
