// The README's two set-up commands, exactly as printed there, on a fresh clone of this
// repository (its committed HEAD): the first installs and starts the local stack, one message
// goes in over SMTP and comes back over IMAP, Ctrl-C stops it; the second runs the tests. That
// inner `npm test` is narrowed to one small file with MAIL_TEST_FILES (a CI-only flag of
// test/run.mjs), so the suite does not run inside itself; its prerequisite check and type check
// run whole. Run alone with `npm run check:fresh`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNpmStart } from '../helpers/npm-start.ts';
import { setupCommands } from '../helpers/readme.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The inner `npm test` runs this file only. */
const INNER_TEST_FILES = 'test/core/tls.test.ts';

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT would make an inner `node --test` report to us in the runner's own protocol
    const { NODE_TEST_CONTEXT: _ours, ...env } = process.env;
    const child = execFile(command, args, { cwd: options.cwd, env: { ...env, ...options.env }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

// Python's smtplib and imaplib, as a user's script would send and read.
const SEND_AND_READ = `
import imaplib, smtplib, sys, time
smtp_port, imap_port, address, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
smtplib.SMTP('127.0.0.1', smtp_port).sendmail('fresh@example.org', [address], 'Subject: fresh clone\\r\\n\\r\\nit works\\r\\n')
imap = imaplib.IMAP4('127.0.0.1', imap_port)
imap.login(address, password)
deadline = time.time() + 60
while True:
    imap.select('INBOX')
    typ, data = imap.search(None, 'SUBJECT', '"fresh clone"')
    if data[0]:
        break
    if time.time() > deadline:
        sys.exit('not filed within 60 s')
    time.sleep(0.2)
typ, msg = imap.fetch(data[0].split()[0], '(BODY.PEEK[TEXT])')
sys.stdout.write(msg[0][1].decode())
imap.logout()
`;

test('a fresh clone: the README\'s set-up commands work exactly as printed', { timeout: 900_000 }, async (t) => {
  const clone = mkdtempSync(join(tmpdir(), 'mail-fresh-'));
  t.after(() => rmSync(clone, { recursive: true, force: true }));
  const cloned = await run('git', ['clone', '--quiet', ROOT, clone], { cwd: tmpdir() });
  assert.equal(cloned.code, 0, cloned.stderr);

  const commands = setupCommands(clone);
  assert.equal(commands.length, 2, `two set-up commands in the README: ${JSON.stringify(commands)}`);
  const [installAndStart, runTests] = commands as [string, string];
  assert.match(installAndStart, /npm start/, 'the first set-up command starts the stack');

  const stack = await runNpmStart({ cwd: clone, command: installAndStart, timeoutMs: 600_000 });
  t.after(() => stack.stop());
  const exchanged = await run('python3', ['-c', SEND_AND_READ, String(stack.ports.smtp), String(stack.ports.imap), stack.address, stack.password], { cwd: clone, timeoutMs: 120_000 });
  assert.equal(exchanged.code, 0, `${exchanged.stdout}\n${exchanged.stderr}\n${stack.output().slice(-3000)}`);
  assert.match(exchanged.stdout, /it works/);
  const stopped = await stack.stop();
  assert.ok(stopped.code === 0 || stopped.signal === 'SIGINT', `npm start ended by ${stopped.code ?? stopped.signal}`);
  assert.match(stack.output(), /^stopped\.$/m);

  const tested = await run('bash', ['-c', runTests], { cwd: clone, env: { MAIL_TEST_FILES: INNER_TEST_FILES }, timeoutMs: 600_000 });
  assert.equal(tested.code, 0, `${runTests}:\n${tested.stdout.slice(-3000)}\n${tested.stderr.slice(-3000)}`);
  assert.match(tested.stdout, /^. pass [1-9]/m, `the inner run ran tests:\n${tested.stdout.slice(-3000)}`);
  assert.match(tested.stdout, /^. fail 0$/m);
});
