// A small process supervisor for the local stack: each component runs as its own Node process
// (as on Fargate/Lambda), announces readiness with one JSON line, is restarted with back-off
// when it dies, and is stopped with SIGTERM → grace → SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ComponentSpec {
  /** Name used in logs, events and kill/restart calls. */
  readonly name: string;
  /** Absolute path of the component's TypeScript entry point. */
  readonly entry: string;
  /** Environment on top of the supervisor's own; called before every (re)start. */
  readonly env: () => Record<string, string>;
  /** How long the component may take to print its ready line. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

/** The component's ready line: `{"event":"ready", ...}` with whatever it reports (ports, endpoints). */
export type ReadyInfo = { readonly event: 'ready' } & Record<string, unknown>;

export type SupervisorEvent =
  | { readonly type: 'spawned'; readonly component: string; readonly pid: number }
  | { readonly type: 'ready'; readonly component: string; readonly pid: number; readonly info: ReadyInfo }
  | { readonly type: 'exited'; readonly component: string; readonly pid: number; readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly expected: boolean }
  | { readonly type: 'restarting'; readonly component: string; readonly attempt: number; readonly delayMs: number }
  | { readonly type: 'restart-failed'; readonly component: string; readonly error: string };

export interface SupervisorOptions {
  /** Every stdout line that is not the ready line, and every stderr line. Default: prefixed to our stdout/stderr. */
  readonly log?: (component: string, line: string, stream: 'stdout' | 'stderr') => void;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** Time between SIGTERM and SIGKILL when stopping. Default 5 s. */
  readonly graceMs?: number;
  /** Restart delays: initial, doubling up to max; reset once a component has been up for `stableMs`. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number; readonly stableMs: number };
  readonly cwd?: string;
}

const PARENT_WATCH = fileURLToPath(new URL('./processes/parent-watch.ts', import.meta.url));
const STDERR_TAIL_LINES = 20;

export class ComponentFailedError extends Error {}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
  settled: boolean;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by start()/whenReady(); never unhandled
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (v) => {
      d.settled = true;
      resolve(v);
    },
    reject: (e) => {
      d.settled = true;
      reject(e);
    },
  };
  return d;
}

interface Running {
  readonly spec: ComponentSpec;
  child: ChildProcess | null;
  /** Readiness of the current instance, or of the next one while a restart is due. */
  ready: Deferred<ReadyInfo>;
  /** Set while the supervisor itself ends the child (stop, restart). */
  intentional: boolean;
  attempt: number;
  startedAt: number;
  restartTimer: NodeJS.Timeout | null;
  exited: Promise<void>;
  stderrTail: string[];
  /** Why the current instance is being ended before it was ready (ready timeout). */
  failure: string | null;
}

export class Supervisor {
  private readonly components = new Map<string, Running>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions = {}) {}

  /** Starts a component and resolves with its ready line; rejects if it exits or stalls first. */
  async start(spec: ComponentSpec): Promise<ReadyInfo> {
    if (this.components.has(spec.name)) throw new Error(`component ${spec.name} is already supervised`);
    if (this.stopping) throw new Error('supervisor is stopping');
    const running: Running = {
      spec,
      child: null,
      ready: deferred<ReadyInfo>(),
      intentional: false,
      attempt: 0,
      startedAt: 0,
      restartTimer: null,
      exited: Promise.resolve(),
      stderrTail: [],
      failure: null,
    };
    this.components.set(spec.name, running);
    this.spawnChild(running);
    try {
      return await running.ready.promise;
    } catch (err) {
      // A component that cannot start the first time is a configuration problem, not a crash to retry.
      running.intentional = true;
      await this.terminate(running);
      this.components.delete(spec.name);
      throw err;
    }
  }

  /** The ready line of the component's current instance, waiting through a restart in progress. */
  async whenReady(name: string): Promise<ReadyInfo> {
    const running = this.get(name);
    for (;;) {
      const current = running.ready;
      const info = await current.promise;
      if (running.ready === current) return info;
    }
  }

  pid(name: string): number | undefined {
    return this.get(name).child?.pid;
  }

  names(): string[] {
    return [...this.components.keys()];
  }

  /**
   * Sends a signal to a component (fault tests). An exit that follows counts as a crash and is
   * restarted; after SIGKILL, SIGTERM or SIGINT, whenReady() already waits for the new instance.
   */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const running = this.get(name);
    const child = running.child;
    if (!child?.pid) throw new Error(`component ${name} is not running`);
    if (['SIGKILL', 'SIGTERM', 'SIGINT'].includes(signal) && running.ready.settled) running.ready = deferred();
    child.kill(signal);
  }

  /** Stops the component gracefully and starts it again; resolves when it is ready. */
  async restart(name: string): Promise<ReadyInfo> {
    const running = this.get(name);
    if (running.restartTimer) clearTimeout(running.restartTimer);
    running.restartTimer = null;
    running.intentional = true;
    await this.terminate(running);
    running.intentional = false;
    running.attempt = 0;
    if (running.ready.settled) running.ready = deferred();
    this.spawnChild(running);
    return running.ready.promise;
  }

  /** Stops every component, last started first, and waits until all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const running of [...this.components.values()].reverse()) {
      if (running.restartTimer) clearTimeout(running.restartTimer);
      running.restartTimer = null;
      running.intentional = true;
      await this.terminate(running);
      if (!running.ready.settled) running.ready.reject(new ComponentFailedError(`${running.spec.name}: the supervisor stopped`));
    }
  }

  private get(name: string): Running {
    const running = this.components.get(name);
    if (!running) throw new Error(`no component named ${name}`);
    return running;
  }

  private spawnChild(running: Running): void {
    const { spec } = running;
    const env: Record<string, string | undefined> = { ...process.env, ...spec.env() };
    // A component is not part of a test run even when the supervisor is.
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PARENT_WATCH, spec.entry], {
      cwd: this.options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    running.child = child;
    running.startedAt = Date.now();
    running.stderrTail = [];
    const pid = child.pid ?? -1;
    this.options.onEvent?.({ type: 'spawned', component: spec.name, pid });

    // The deferred may already be awaited by whenReady() (a restart after a crash).
    if (running.ready.settled) running.ready = deferred();
    const ready = running.ready;
    running.failure = null;
    let isReady = false;
    const readyTimeoutMs = spec.readyTimeoutMs ?? 60_000;
    const readyTimer = setTimeout(() => {
      running.failure = `${spec.name} was not ready within ${readyTimeoutMs} ms`;
      child.kill('SIGKILL');
    }, readyTimeoutMs);

    const log = this.options.log ?? defaultLog;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!isReady && line.startsWith('{')) {
        const parsed = tryJson(line);
        if (parsed && parsed.event === 'ready') {
          isReady = true;
          clearTimeout(readyTimer);
          this.options.onEvent?.({ type: 'ready', component: spec.name, pid, info: parsed as ReadyInfo });
          ready.resolve(parsed as ReadyInfo);
          return;
        }
      }
      log(spec.name, line, 'stdout');
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      running.stderrTail.push(line);
      if (running.stderrTail.length > STDERR_TAIL_LINES) running.stderrTail.shift();
      log(spec.name, line, 'stderr');
    });

    running.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // spawn itself failed: no 'exit' follows.
        clearTimeout(readyTimer);
        if (running.child === child) running.child = null;
        if (!ready.settled) ready.reject(new ComponentFailedError(`${spec.name} could not be spawned: ${err.message}`));
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(readyTimer);
        if (running.child === child) running.child = null;
        const expected = running.intentional || this.stopping;
        this.options.onEvent?.({ type: 'exited', component: spec.name, pid, code, signal, expected });
        resolve();
        const why = running.failure ?? `${spec.name} exited (${signal ?? `code ${code}`}) before it was ready`;
        // Only a component that was ready once is restarted; start() reports a first failure.
        if (!expected && (isReady || running.attempt > 0)) {
          if (!isReady) this.options.onEvent?.({ type: 'restart-failed', component: spec.name, error: why + this.tail(running) });
          if (running.ready.settled) running.ready = deferred();
          this.scheduleRestart(running);
        } else if (!ready.settled) {
          ready.reject(new ComponentFailedError(why + this.tail(running)));
        }
      });
    });
  }

  private scheduleRestart(running: Running): void {
    const backoff = this.options.backoff ?? { initialMs: 250, maxMs: 10_000, stableMs: 30_000 };
    if (Date.now() - running.startedAt > backoff.stableMs) running.attempt = 0;
    running.attempt++;
    const delayMs = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (running.attempt - 1));
    this.options.onEvent?.({ type: 'restarting', component: running.spec.name, attempt: running.attempt, delayMs });
    running.restartTimer = setTimeout(() => {
      running.restartTimer = null;
      if (this.stopping || running.intentional) return;
      this.spawnChild(running);
    }, delayMs);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when the child has exited. */
  private async terminate(running: Running): Promise<void> {
    const child = running.child;
    if (!child) return running.exited;
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), this.options.graceMs ?? 5000);
    await running.exited;
    clearTimeout(killTimer);
  }

  private tail(running: Running): string {
    return running.stderrTail.length ? `:\n  ${running.stderrTail.join('\n  ')}` : '';
  }
}

function tryJson(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function defaultLog(component: string, line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${component}] ${line}\n`);
}
