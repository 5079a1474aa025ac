// fetchmail as a test client (IMAP or POP3): it runs without a terminal and hands each message to
// an MDA we control, so what it fetched can be compared byte for byte.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs fetchmail once in batch mode with `poll` (the poll line and its indented options, without
 * the MDA) and returns what its MDA was handed, one buffer a message. fetchmail adds its own
 * Received: line and gives the MDA LF line ends.
 */
export async function fetchmailOnce(poll: string[]): Promise<Buffer[]> {
  const home = mkdtempSync(join(tmpdir(), 'fetchmail-'));
  try {
    const out = join(home, 'out');
    writeFileSync(join(home, 'mda.sh'), `#!/bin/sh\ncat > "${out}-$$"\n`, { mode: 0o700 });
    const rc = join(home, 'fetchmailrc');
    writeFileSync(rc, ['set no syslog', ...poll, `  mda "${join(home, 'mda.sh')}"`, ''].join('\n'));
    chmodSync(rc, 0o600);
    await new Promise<void>((resolve, reject) => {
      execFile(
        'fetchmail',
        ['--fetchmailrc', rc, '--idfile', join(home, 'ids'), '--pidfile', join(home, 'pid'), '--nodetach', '--silent'],
        { env: { ...process.env, HOME: home, FETCHMAILHOME: home }, timeout: 60_000 },
        // Exit 0: mail retrieved; anything else is a failure here.
        (error, _stdout, stderr) => {
          if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error('fetchmail is not installed: apt-get install -y fetchmail'));
          else if (error) reject(new Error(`fetchmail failed: ${error.message} ${stderr}`));
          else resolve();
        },
      );
    });
    return readdirSync(home).filter((f) => f.startsWith('out-')).map((f) => readFileSync(join(home, f)));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
