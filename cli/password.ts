// Reading a new password for `account add|passwd`: from --password, from a prompt without
// echo when stdin is a terminal, or from the first line of stdin when it is piped.
import type { Readable, Writable } from 'node:stream';

export class PasswordInputError extends Error {}

interface TtyIn extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export async function readNewPassword(given: string | undefined, stdin: TtyIn, stderr: Writable): Promise<string> {
  let password: string;
  if (given !== undefined) password = given;
  else if (stdin.isTTY && stdin.setRawMode) {
    password = await promptHidden('Password: ', stdin, stderr);
    const again = await promptHidden('Repeat password: ', stdin, stderr);
    if (again !== password) throw new PasswordInputError('passwords do not match');
  } else password = await firstLine(stdin);
  if (password.length === 0) throw new PasswordInputError('empty password');
  return password;
}

/** The first line of a piped stdin, without its line ending (so `echo secret |` works). */
async function firstLine(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    chunks.push(Buffer.from(chunk as Buffer));
    if ((chunk as Buffer).includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/** Reads one line from a terminal in raw mode, echoing nothing; Ctrl-C aborts with exit 130. */
function promptHidden(prompt: string, stdin: TtyIn, stderr: Writable): Promise<string> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new PasswordInputError('cancelled'));
        if (ch === '\u0004' && value === '') return finish();
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.setRawMode!(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/**
 * A secret to log in somewhere else (`import imap`): from --password, a file's first line, an
 * environment variable, a prompt without echo on a terminal, or the first line of piped stdin.
 */
export async function readSecret(
  given: { password?: string; file?: string; env?: string },
  environment: Record<string, string | undefined>,
  stdin: TtyIn,
  stderr: Writable,
  prompt: string,
): Promise<string> {
  let secret: string;
  if (given.password !== undefined) secret = given.password;
  else if (given.file !== undefined) {
    const { readFile } = await import('node:fs/promises');
    try {
      secret = (await readFile(given.file, 'utf8')).split(/\r?\n/, 1)[0] ?? '';
    } catch (err) {
      throw new PasswordInputError(`cannot read the password file ${given.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (given.env !== undefined) {
    const value = environment[given.env];
    if (value === undefined) throw new PasswordInputError(`the environment variable ${given.env} is not set`);
    secret = value;
  } else if (stdin.isTTY && stdin.setRawMode) secret = await promptHidden(prompt, stdin, stderr);
  else secret = await firstLine(stdin);
  if (secret.length === 0) throw new PasswordInputError('empty password');
  return secret;
}
