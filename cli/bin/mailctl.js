#!/usr/bin/env node
// The `mailctl` bin (npx mailctl): a plain-JS shim, runnable by any node on PATH, that re-runs
// cli/main.ts on the project's own Node 24 (the node@24 dev dependency) with tsx.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Paths from this file (symlinks from node_modules/.bin are resolved by node), never from cwd.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const node = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
// The loader as node's `--import tsx` would find it, from this file's folder upwards.
const tsx = import.meta.resolve('tsx');

const child = spawn(node, ['--import', tsx, join(root, 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
// The child shares the terminal's process group, so Ctrl-C reaches it directly; other signals
// sent to the shim alone are passed on.
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (err) => {
  process.stderr.write(`mailctl: cannot start ${node}: ${err.message} (run npm install)\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 1);
});
process.on('SIGINT', () => {}); // the child handles it and its exit code is ours
