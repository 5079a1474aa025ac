#!/usr/bin/env node
// `npm test`: the programs the tests drive are checked (and installed where we may), the code is
// type-checked, then every test runs on Node's test runner.
//
// MAIL_TEST_FILES (a space-separated list of globs, default every test) narrows the run; the
// fresh-clone check uses it to run `npm test` as printed without running the suite inside itself.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function step(command, args) {
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

step(process.execPath, [join(root, 'scripts', 'prerequisites.mjs')]);
step(bin('tsc'), ['--noEmit', '-p', '.']);
const files = (process.env.MAIL_TEST_FILES ?? 'test/**/*.test.ts').split(/\s+/).filter(Boolean);
step(bin('node'), ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files]);
