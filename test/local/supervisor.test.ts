// Supervisor mechanics with a tiny fake component: readiness, restart after SIGKILL, clean stop,
// and no orphans when the supervisor itself is killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Supervisor, type SupervisorEvent } from '../../local/supervisor.ts';
import { eventually } from '../helpers/eventually.ts';
import { connectSocket, SocketReader } from '../helpers/socket-reader.ts';

const fake = fileURLToPath(new URL('./fixtures/fake-component.ts', import.meta.url));
const superviseFakes = fileURLToPath(new URL('./fixtures/supervise-fakes.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits for processes that are not our children to disappear (no exit event exists for them). */
async function gone(pids: number[], timeoutMs: number): Promise<void> {
  await eventually(() => !pids.some(alive), `processes ${pids.join(', ')} to exit`, timeoutMs, 50);
}

/** Everything the program on `port` sends before it closes the connection. */
async function greeting(port: number): Promise<string> {
  const reader = new SocketReader(await connectSocket(port));
  await reader.take(() => -1, 'the end of the connection', 10_000);
  return reader.unread;
}

function quietSupervisor(events: SupervisorEvent[] = [], lines: string[] = []) {
  return new Supervisor({
    log: (component, line) => lines.push(`${component}: ${line}`),
    onEvent: (e) => events.push(e),
    graceMs: 1000,
    backoff: { initialMs: 100, maxMs: 1000, stableMs: 30_000 },
  });
}

test('start() resolves only once the component has printed its ready line; other lines pass through', async (t) => {
  const lines: string[] = [];
  const supervisor = quietSupervisor([], lines);
  t.after(() => supervisor.stop());
  const info = await supervisor.start({ name: 'fake', entry: fake, env: () => ({}) });
  assert.equal(info.event, 'ready');
  assert.equal(info.pid, supervisor.pid('fake'));
  assert.equal(await greeting(info.port as number), 'hello\n');
  assert.ok(lines.some((l) => l.startsWith('fake: ') && l.includes('fake component listening')), lines.join('\n'));
});

test('a component killed with SIGKILL is reported and restarted; whenReady waits for the new instance', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = quietSupervisor(events);
  t.after(() => supervisor.stop());
  const first = await supervisor.start({ name: 'fake', entry: fake, env: () => ({}) });
  supervisor.kill('fake', 'SIGKILL');
  const second = await supervisor.whenReady('fake');
  assert.notEqual(second.pid, first.pid);
  assert.equal(alive(first.pid as number), false);
  assert.equal(await greeting(second.port as number), 'hello\n');
  const exited = events.find((e) => e.type === 'exited');
  assert.deepEqual(exited && { signal: exited.signal, expected: exited.expected }, { signal: 'SIGKILL', expected: false });
  assert.ok(events.some((e) => e.type === 'restarting' && e.attempt === 1));
});

test('restart() stops gracefully and starts again', async (t) => {
  const events: SupervisorEvent[] = [];
  const supervisor = quietSupervisor(events);
  t.after(() => supervisor.stop());
  const first = await supervisor.start({ name: 'fake', entry: fake, env: () => ({}) });
  const second = await supervisor.restart('fake');
  assert.notEqual(second.pid, first.pid);
  const exited = events.find((e) => e.type === 'exited');
  assert.deepEqual(exited && { code: exited.code, expected: exited.expected }, { code: 0, expected: true });
  assert.ok(!events.some((e) => e.type === 'restarting'));
});

test('stop() leaves no process behind, killing one that ignores SIGTERM after the grace period', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = quietSupervisor(events);
  const a = await supervisor.start({ name: 'polite', entry: fake, env: () => ({}) });
  const b = await supervisor.start({ name: 'stubborn', entry: fake, env: () => ({ FAKE_MODE: 'ignore-sigterm' }) });
  await supervisor.stop();
  assert.equal(alive(a.pid as number), false);
  assert.equal(alive(b.pid as number), false);
  const exits = events.filter((e) => e.type === 'exited');
  assert.deepEqual(exits.map((e) => [e.component, e.signal]), [['stubborn', 'SIGKILL'], ['polite', null]], 'last started stops first');
  assert.ok(!events.some((e) => e.type === 'restarting'));
});

test('a component that dies before it is ready fails start() with its error output, and is not restarted', async () => {
  const events: SupervisorEvent[] = [];
  const supervisor = quietSupervisor(events);
  await assert.rejects(
    supervisor.start({ name: 'broken', entry: fake, env: () => ({ FAKE_MODE: 'crash-before-ready' }) }),
    /broken exited \(code 3\) before it was ready:\n\s+fake: cannot open the data folder/,
  );
  await assert.rejects(
    supervisor.start({ name: 'silent', entry: fake, env: () => ({ FAKE_MODE: 'never-ready' }), readyTimeoutMs: 1500 }),
    /silent was not ready within 1500 ms/,
  );
  await supervisor.stop();
  assert.ok(!events.some((e) => e.type === 'restarting'));
  for (const e of events) if (e.type === 'spawned') assert.equal(alive(e.pid), false);
});

test('when the supervisor itself is SIGKILLed, its components exit on their own', async (t) => {
  const parent = spawn(process.execPath, ['--import', 'tsx', superviseFakes], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => parent.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: parent.stdout! }).once('line', resolve);
    parent.once('exit', (code) => reject(new Error(`supervisor exited early (${code})`)));
  });
  const { pids } = JSON.parse(line) as { pids: number[] };
  assert.equal(pids.length, 2);
  assert.ok(pids.every(alive));
  parent.kill('SIGKILL');
  // The one that ignores SIGTERM is ended by its orphan grace period (shortened to 1 s here).
  await gone(pids, 5000);
});
