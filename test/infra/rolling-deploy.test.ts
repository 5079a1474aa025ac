// A rolling deploy as ECS runs it behind the NLB: the old task is deregistered (no new connections),
// the deregistration delay passes, then the container gets SIGTERM and has stopTimeout to exit. The
// sessions still open must hear the protocol's goodbye from the service (IMAP `* BYE` with a reason,
// RFC 3501 §7.1.5; SMTP 421, RFC 5321 §3.8), which they can only if the load balancer has not reset
// them first: with deregistration_delay.connection_termination the NLB closes every open flow when
// the delay ends, before the SIGTERM. Without it, "if the deregistered target stays healthy and an
// existing connection is not idle, the load balancer can continue to send traffic" (Elastic Load
// Balancing, Network Load Balancers, "Deregistration delay"), so the service ends them itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { coreConfigToEnv } from '../../core/config.ts';
import { createStore } from '../../core/store/index.ts';
import { RawImap } from '../mailbox-server/imap/helpers/imap-world.ts';
import { spawnEdgeProcess, startEdgeWorld, SmtpWire, type EdgeWorld, NODE, ROOT } from '../smtp-edge/helpers.ts';
import { fullStack, resourcesOfType } from './synth.ts';

describe('the template lets the services say goodbye', () => {
  const { json } = fullStack();

  it('keeps open flows through the deregistration delay: the task, not the NLB, ends them', () => {
    for (const [id, tg] of resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::TargetGroup')) {
      const attrs = Object.fromEntries(tg.TargetGroupAttributes.map((a: { Key: string; Value: string }) => [a.Key, a.Value]));
      assert.equal(attrs['deregistration_delay.connection_termination.enabled'], 'false', `${id}: the NLB would reset sessions before SIGTERM`);
    }
  });

  it('gives the containers time to drain after SIGTERM (the edge\'s grace fits in stopTimeout)', () => {
    for (const [id, t] of resourcesOfType(json, 'AWS::ECS::TaskDefinition')) {
      const [c] = t.ContainerDefinitions;
      // Fargate allows at most 120 s; smtp-edge/server.ts lets transactions finish for 25 s by default.
      assert.ok(c.StopTimeout >= 60 && c.StopTimeout <= 120, `${id}: stopTimeout ${c.StopTimeout}`);
    }
  });
});

describe('SIGTERM to the running services', () => {
  let world: EdgeWorld;
  before(async () => {
    world = await startEdgeWorld();
  });
  after(async () => {
    await world?.close();
  });

  /** mailbox-server/main.ts as ECS starts it, on free ports; resolves with its ready line's ports. */
  async function spawnMailboxServer(t: TestContext) {
    const child = spawn(NODE, ['--import', 'tsx', join(ROOT, 'mailbox-server', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...coreConfigToEnv(world.world.config),
        MAILBOX_HOST: '127.0.0.1', IMAP_PORT: '0', IMAPS_PORT: '-1', POP3_PORT: '0', POP3S_PORT: '-1',
        TLS_DIR: join(world.world.dataDir, 'tls-mailbox'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    const lines: Record<string, unknown>[] = [];
    const waiters: Array<() => void> = [];
    let partial = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const p of parts) { try { lines.push(JSON.parse(p) as Record<string, unknown>); } catch { /* not a log line */ } }
      for (const w of waiters.splice(0)) w();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); for (const w of waiters.splice(0)) w(); }));
    const waitFor = async (event: string) => {
      for (;;) {
        const line = lines.find((l) => l.event === event);
        if (line) return line;
        if (child.exitCode !== null) throw new Error(`mailbox-server exited before "${event}": ${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    const ready = await waitFor('ready');
    return { child, exited, waitFor, ports: ready.ports as Record<string, number> };
  }

  it('IMAP: a session in IDLE gets * BYE with a reason, then the process exits 0', async (t) => {
    const { directory } = createStore(world.world.clients, world.world.config.resources);
    await directory.addAccount('idler@example.test', 'idler-password-1');
    const server = await spawnMailboxServer(t);
    const c = await RawImap.connect(server.ports.imap!);
    t.after(() => c.close());
    await c.line();
    await c.login('idler@example.test', 'idler-password-1');
    await c.command('SELECT INBOX');
    c.write('i IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    server.child.kill('SIGTERM');
    assert.match((await c.line(10_000)) ?? '', /^\* BYE \S.*/, 'an untagged BYE with a human-readable reason');
    assert.equal(await c.line(10_000), null, 'then the server closes the connection');
    assert.equal(await server.exited, 0);
  });

  it('SMTP: a session between transactions gets 421 and the process exits 0', async (t) => {
    const edge = await spawnEdgeProcess(t, world, { SMTP_DRAIN_GRACE_MS: '200' });
    const { wire } = await SmtpWire.connect(edge.port);
    t.after(() => wire.destroy());
    assert.match(await wire.command('EHLO client.test'), /^250 /m);
    const exited = new Promise<number | null>((resolve) => edge.child.once('exit', (code) => resolve(code)));
    edge.child.kill('SIGTERM');
    await edge.waitFor('service.draining');
    // Either the drain's own 421 arrives first or it answers the next command: both are RFC 5321 §3.8.
    wire.write('NOOP\r\n');
    assert.match(await wire.reply(), /^421 /);
    assert.equal(await exited, 0);
  });
});
