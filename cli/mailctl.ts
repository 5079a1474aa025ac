// mailctl's front: parse arguments (node:util parseArgs), find the command, connect to the
// target stack, run, and turn every failure into one line on stderr and a non-zero exit.
import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { StoreError } from '../core/store/types.ts';
import type { CoreConfig } from '../core/config.ts';
import { COMMANDS, GROUPS } from './commands.ts';
import { arityOf, UsageError, type Command, type Services } from './command.ts';
import { Output } from './output.ts';
import { PasswordInputError } from './password.ts';

export interface Io {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Record<string, string | undefined>;
}

/** Opens the store for a configuration; `close` releases its clients. */
export type Connect = (config: CoreConfig) => Promise<Services & { close(): void }>;

/** Exit codes: 0 done, 1 the operation failed, 2 mailctl was called wrongly. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string', help: 'folder of the local stack (default $MAIL_DATA_DIR or <repo>/.mail-data)', valueName: 'dir' },
  stack: { type: 'string', help: 'a deployed CloudFormation stack to manage (with --region)', valueName: 'name' },
  region: { type: 'string', help: 'AWS region of --stack', valueName: 'region' },
  json: { type: 'boolean', help: 'print results as JSON' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
} as const satisfies Record<string, ParseArgsOptionDescriptor & { help: string; valueName?: string }>;

/** Every option any command knows, so parseArgs can tell value-taking options from flags. */
const ALL_OPTIONS: Record<string, ParseArgsOptionDescriptor> = Object.assign(
  {},
  ...COMMANDS.map((c) => c.options ?? {}),
  GLOBAL_OPTIONS,
);

function optionHelp(options: Record<string, { help: string; valueName?: string; short?: string }>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.valueName ? ` <${o.valueName}>` : ''}`;
    return `  ${flag.padEnd(24)} ${o.help}`;
  });
}

function generalHelp(): string {
  const lines = ['usage: mailctl [options] <command> [arguments]', '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.name} ${c.args}`.padEnd(40)} ${c.summary.split('. ')[0]!.replace(/\.$/, '')}`);
  lines.push('', 'options:', ...optionHelp(GLOBAL_OPTIONS), '', "'mailctl <command> --help' tells more about one command.");
  return lines.join('\n');
}

function groupHelp(group: string, commands: readonly Command[]): string {
  return [`usage: mailctl ${group} <${commands.map((c) => c.name.split(' ')[1]).join('|')}> ...`, '', ...commands.map((c) => `  ${`${c.name} ${c.args}`.padEnd(40)} ${c.summary}`)].join('\n');
}

function commandHelp(c: Command): string {
  return [`usage: mailctl ${c.name}${c.args ? ` ${c.args}` : ''} [options]`, '', c.summary, '', 'options:', ...optionHelp({ ...(c.options ?? {}), ...GLOBAL_OPTIONS })].join('\n');
}

/**
 * `export <account> mbox|maildir <path>` reads as a sentence; the command table keys commands by
 * `group action`, so that order is turned into `export mbox <account> <path>`.
 */
function formatAfterAccount(positionals: string[]): string[] {
  const [group, account, format, ...rest] = positionals;
  const formats = ['mbox', 'maildir'];
  if (group !== 'export' || format === undefined || !formats.includes(format) || formats.includes(account!)) return positionals;
  return [group, format, account!, ...rest];
}

/** Runs mailctl with `argv` (without node and script); resolves to the exit code. */
export async function mailctl(argv: string[], io: Io, connect: Connect): Promise<number> {
  const say = (text: string) => io.stderr.write(`${text}\n`);
  let command: Command | undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: ALL_OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    say(`mailctl: ${(err as Error).message.split('\n')[0]} (see mailctl --help)`);
    return EXIT.usage;
  }
  const { values, positionals, tokens } = parsed;
  const [group, action, ...args] = formatAfterAccount(positionals);
  const out = new Output(io.stdout, values.json === true);

  if (group === undefined) {
    (values.help ? out : { line: say }).line(generalHelp());
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const inGroup = GROUPS.get(group);
  if (!inGroup) {
    say(`mailctl: unknown command '${group}' (see mailctl --help)`);
    return EXIT.usage;
  }
  command = inGroup.find((c) => c.name === `${group} ${action}`);
  if (!command) {
    if (values.help && action === undefined) {
      out.line(groupHelp(group, inGroup));
      return EXIT.ok;
    }
    say(action === undefined ? groupHelp(group, inGroup) : `mailctl: unknown command '${group} ${action}' (see mailctl ${group} --help)`);
    return EXIT.usage;
  }
  if (values.help) {
    out.line(commandHelp(command));
    return EXIT.ok;
  }
  const hint = `(see mailctl ${command.name} --help)`;
  const allowed = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(command.options ?? {})]);
  const stray = tokens.find((t) => t.kind === 'option' && !allowed.has(t.name));
  if (stray && stray.kind === 'option') {
    say(`mailctl: option '${stray.rawName}' does not apply to '${command.name}' ${hint}`);
    return EXIT.usage;
  }
  const arity = arityOf(command.args);
  if (args.length < arity.min || args.length > arity.max) {
    say(`mailctl: '${command.name}' takes ${command.args || 'no arguments'} ${hint}`);
    return EXIT.usage;
  }

  let services: Awaited<ReturnType<Connect>> | undefined;
  try {
    // Loaded here, not at the top: the target brings zod and the configuration schemas, which
    // help and usage errors do not need.
    const { resolveTarget } = await import('./target.ts');
    const config = await resolveTarget({ dataDir: values['data-dir'] as string | undefined, stack: values.stack as string | undefined, region: values.region as string | undefined }, io.env);
    services = await connect(config);
    await command.run({ services, out, stdin: io.stdin, stderr: io.stderr, env: io.env }, args, values);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      say(`mailctl: ${err.message} ${hint}`);
      return EXIT.usage;
    }
    say(`mailctl: ${describeFailure(err)}`);
    if (io.env.MAILCTL_DEBUG && err instanceof Error && err.stack) say(err.stack);
    return EXIT.failed;
  } finally {
    services?.close();
  }
}

/** Failures named so by core/ and cli/ modules loaded lazily (so not by class): their message is the whole story. */
const EXPECTED_ERRORS = ['TargetError', 'SourceError', 'QuotaExceededError', 'ImportIncompleteError'];

/** One line for any failure; the expected kinds read as plain sentences. */
function describeFailure(err: unknown): string {
  const expected =
    err instanceof StoreError || err instanceof PasswordInputError || (err instanceof Error && EXPECTED_ERRORS.includes(err.name));
  if (expected) return oneLine(err.message);
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || (err as { name?: string }).name === 'TimeoutError') {
    const address = (err as { address?: string; port?: number }).address;
    const port = (err as { port?: number }).port;
    return `cannot reach ${address ? `${address}:${port}` : 'the service'} (${code ?? 'timeout'}): is the local stack running (npm start)?`;
  }
  if (err instanceof AggregateError && err.errors.length > 0) return describeFailure(err.errors[0]);
  if (err instanceof Error) return oneLine(`${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`);
  return oneLine(String(err));
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
