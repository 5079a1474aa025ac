// The new-password prompt: no echo on a terminal, confirmation, editing; first line when piped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readNewPassword, PasswordInputError } from '../../cli/password.ts';

/** A stand-in terminal: records raw-mode changes, and what was written to it. */
function terminal() {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[], setRawMode(mode: boolean) { stdin.rawModes.push(mode); return stdin; } });
  const stderr = new PassThrough();
  let shown = '';
  stderr.on('data', (d: Buffer) => (shown += d.toString()));
  return { stdin, stderr, shown: () => shown };
}

test('on a terminal the password is asked twice in raw mode and never echoed; backspace edits', async () => {
  const tty = terminal();
  const answer = readNewPassword(undefined, tty.stdin, tty.stderr);
  tty.stdin.write('s3cX\x7fret\r');
  await new Promise((resolve) => setImmediate(resolve));
  tty.stdin.write('s3cret\r');
  assert.equal(await answer, 's3cret');
  assert.equal(tty.shown(), 'Password: \nRepeat password: \n');
  assert.deepEqual(tty.stdin.rawModes, [true, false, true, false]);
});

test('a mismatch or Ctrl-C is an error, not a password', async () => {
  const tty = terminal();
  const mismatch = readNewPassword(undefined, tty.stdin, tty.stderr);
  tty.stdin.write('one\r');
  await new Promise((resolve) => setImmediate(resolve));
  tty.stdin.write('two\r');
  await assert.rejects(mismatch, (err: unknown) => err instanceof PasswordInputError && /do not match/.test(err.message));
  const cancelled = terminal();
  const answer = readNewPassword(undefined, cancelled.stdin, cancelled.stderr);
  cancelled.stdin.write('abc\x03');
  await assert.rejects(answer, PasswordInputError);
});

test('piped stdin gives its first line; --password wins; empty is refused', async () => {
  const piped = new PassThrough();
  piped.end('from-pipe\r\nignored\n');
  assert.equal(await readNewPassword(undefined, piped, new PassThrough()), 'from-pipe');
  assert.equal(await readNewPassword('given', new PassThrough(), new PassThrough()), 'given');
  const empty = new PassThrough();
  empty.end('');
  await assert.rejects(readNewPassword(undefined, empty, new PassThrough()), /empty password/);
});
