// Every command a new user is told to try works as printed: those `npm start` prints in its
// banner, and every ```sh block of the README beyond the set-up one (test/helpers/readme.ts).
// They run in bash, from the repository root, against `npm start` itself on free ports and its
// own data folder; the README's default ports and `<password>` are replaced by this run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PORTS, type PortName } from '../../local/stack.ts';
import { eventually } from '../helpers/eventually.ts';
import { runNpmStart, type StartedStack } from '../helpers/npm-start.ts';
import { readmeShellBlocks } from '../helpers/readme.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function bash(command: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', command], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A README command as this run's stack needs it: default ports → bound ports, `<password>` → the demo password. */
function forThisStack(command: string, stack: StartedStack): string {
  let out = command.replaceAll('<password>', stack.password);
  for (const name of Object.keys(DEFAULT_PORTS) as PortName[]) {
    out = out.replace(new RegExp(`(?<=[:/ ])${DEFAULT_PORTS[name]}\\b`, 'g'), String(stack.ports[name]));
  }
  return out;
}

const sendsMail = (command: string) => /\bswaks\b|smtp:\/\/|smtplib/.test(command);

test('every command the README and `npm start` print works as printed', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-readme-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const stack = await runNpmStart({ cwd: ROOT, dataDir });
  t.after(() => stack.stop());
  const env = { MAIL_DATA_DIR: dataDir };
  const explain = (command: string, run: Run) => `${command}\nexit ${run.code}\n${run.stdout}\n${run.stderr}`;

  const messages = async () => {
    const run = await bash(`npx mailctl --json message list ${stack.address}`, env);
    assert.equal(run.code, 0, explain('mailctl message list', run));
    return JSON.parse(run.stdout) as Array<{ uid: number; subject: string }>;
  };

  // The banner's commands, in the order printed; each send must be filed before the reads.
  assert.ok(stack.commands.length >= 4, `banner commands: ${stack.commands.join('\n')}`);
  let sent = 0;
  for (const command of stack.commands) {
    const run = await bash(command, env);
    assert.equal(run.code, 0, explain(command, run));
    if (sendsMail(command)) {
      sent++;
      await eventually(async () => (await messages()).length >= sent || undefined, `message ${sent} filed (after: ${command})`);
    }
  }

  const blocks = readmeShellBlocks(ROOT).filter((b) => !/^set up/i.test(b.heading));
  assert.ok(blocks.length > 0, 'the README has commands to try');
  for (const block of blocks) {
    for (const printed of block.commands) {
      const command = forThisStack(printed, stack);
      const run = await bash(command, env);
      assert.equal(run.code, 0, explain(command, run));
      if (sendsMail(command)) {
        sent++;
        await eventually(async () => (await messages()).length >= sent || undefined, `message ${sent} filed (after: ${command})`);
      }
      // the IMAP read shows the first message, which a banner command sent
      if (/\bcurl\b.*imap/.test(command)) assert.match(run.stdout, /^Subject: /m, explain(command, run));
    }
  }

  const filed = await messages();
  assert.equal(filed.length, sent, 'each send filed once');
  assert.ok(filed.some((m) => m.subject === 'hello'), `the banner's "hello" mail is there: ${JSON.stringify(filed)}`);
  // npm passes Ctrl-C on and then ends by the same signal, as a shell expects of a job
  const stopped = await stack.stop();
  assert.ok(stopped.code === 0 || stopped.signal === 'SIGINT', `npm start ended by ${stopped.code ?? stopped.signal}`);
  assert.match(stack.output(), /^stopped\.$/m, `npm start stops every component on Ctrl-C:\n${stack.output().slice(-2000)}`);
});
