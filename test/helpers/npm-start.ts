// `npm start` run as a user runs it, and what it prints read back: the banner's ports, demo
// password and the commands it tells the user to try. Every port is a free one (MAIL_*_PORT=0,
// which local/main.ts reads), so the run never collides with a stack the developer has open.
//
//   const stack = await runNpmStart({ cwd: ROOT, dataDir });   // resolves once the banner is out
//   stack.ports.smtp, stack.password, stack.commands            // as printed
//   await stack.stop();                                         // Ctrl-C to the process group
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_PORTS, type PortName } from '../../local/stack.ts';

export interface StartedStack {
  readonly ports: Readonly<Record<PortName, number>>;
  readonly address: string;
  readonly password: string;
  /** The shell commands under "Send a test mail" and "See it filed", continuation lines joined. */
  readonly commands: readonly string[];
  /** Everything printed so far (stdout and stderr), for assertion messages. */
  output(): string;
  /** Ctrl-C as a terminal sends it (SIGINT to the process group); SIGKILL if it does not end in time. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface NpmStartOptions {
  readonly cwd: string;
  /** The command line, run by bash (default `npm start`). */
  readonly command?: string;
  /** MAIL_DATA_DIR; unset = the checkout's own `.mail-data/`. */
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

const BANNER_END = 'Ctrl-C stops everything.';

/** MAIL_SMTP_PORT=0 and the like, for every port (local/main.ts portsFromEnv). */
export function freePortEnv(): Record<string, string> {
  return Object.fromEntries((Object.keys(DEFAULT_PORTS) as PortName[]).map((name) => [`MAIL_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_PORT`, '0']));
}

export async function runNpmStart(options: NpmStartOptions): Promise<StartedStack> {
  const env = { ...process.env, ...freePortEnv(), ...options.env, ...(options.dataDir ? { MAIL_DATA_DIR: options.dataDir } : {}) };
  // Its own process group, as a terminal's foreground job: Ctrl-C reaches npm, node and the services.
  const child = spawn('bash', ['-c', options.command ?? 'npm start'], { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    signalGroup(child, 'SIGINT');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 30_000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within ${options.timeoutMs ?? 120_000} ms`)), options.timeoutMs ?? 120_000);
      const check = () => {
        if (text.includes(BANNER_END)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`exited before the banner (${how.code ?? how.signal})`));
      });
    });
    return { ...parseBanner(text), output: () => text, stop };
  } catch (err) {
    await stop();
    throw new Error(`${options.command ?? 'npm start'}: ${(err as Error).message}\n${text.slice(-4000)}`);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** The banner's facts (local/main.ts prints it). */
export function parseBanner(text: string): Pick<StartedStack, 'ports' | 'address' | 'password' | 'commands'> {
  const lines = text.split('\n');
  const address = /^\s*address:\s+(\S+)/m.exec(text)?.[1];
  const password = /^\s*password:\s+(\S+)/m.exec(text)?.[1];
  if (!address || !password) throw new Error(`no demo account in the banner:\n${text}`);

  // The port table lists DEFAULT_PORTS's ports in its order.
  const table = lines.slice(lines.findIndex((l) => /Ports \(/.test(l)) + 1);
  const numbers = table.slice(0, table.findIndex((l) => l.trim() === '')).map((l) => Number(/^\s+(\d+)\s/.exec(l)?.[1]));
  const names = Object.keys(DEFAULT_PORTS) as PortName[];
  if (numbers.length !== names.length || numbers.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`unexpected port table in the banner:\n${text}`);
  const ports = Object.fromEntries(names.map((name, i) => [name, numbers[i]!])) as Record<PortName, number>;

  const commands: string[] = [];
  for (const heading of ['Send a test mail:', 'See it filed:']) {
    const start = lines.findIndex((l) => l.trim() === heading);
    if (start < 0) throw new Error(`no "${heading}" in the banner`);
    let pending = '';
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      pending += line.trim();
      if (pending.endsWith('\\')) pending = `${pending.slice(0, -1)}`;
      else {
        commands.push(pending);
        pending = '';
      }
    }
  }
  return { ports, address, password, commands };
}
