// mailctl's start-up cost: `mailctl domain list` (the bin, and through npx) against a local stack (emulators only, on
// free ports, its own data folder), the median of several runs, beside `node -e 0` run the same
// way in the same run as the floor any Node command pays. The first call, which builds the
// bundle (cli/bin/mailctl.js), is reported apart.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.ts';

const ROOT = join(import.meta.dirname, '..');
/** The project's Node 24, which mailctl runs on. */
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

export interface MailctlResult {
  readonly runs: number;
  readonly firstCallMs: number;
  /** `cli/bin/mailctl domain list` (the package's bin), and `node -e 0` on the Node 24 it runs on. */
  readonly domainListMs: number;
  readonly nodeBaselineMs: number;
  readonly ratioToNode: number;
  /** The same through npx, which adds npm's own start-up to both. */
  readonly npxDomainListMs: number;
  readonly npxNodeBaselineMs: number;
}

function timed(command: string, args: string[], env: Record<string, string>): number {
  const started = process.hrtime.bigint();
  execFileSync(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function runMailctlBenchmark(options: { runs: number }): Promise<MailctlResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-bench-mailctl-'));
  const stack = await startLocalStack({ dataDir, ports: { objectQueue: 0, dynamo: 0 }, components: ['emulators'], log: () => undefined, graceMs: 3000 });
  try {
    const env = { MAIL_DATA_DIR: dataDir };
    rmSync(join(ROOT, 'node_modules', '.cache', 'mailctl'), { recursive: true, force: true });
    // the bin as npx runs it
    const bin = join(ROOT, 'cli', 'bin', 'mailctl');
    const firstCallMs = timed(bin, ['domain', 'list'], env);
    const series = { mailctl: [] as number[], node: [] as number[], npxMailctl: [] as number[], npxNode: [] as number[] };
    // interleaved, so a busy moment of the machine weighs on all of them
    for (let i = 0; i < options.runs; i++) {
      series.mailctl.push(timed(bin, ['domain', 'list'], env));
      series.node.push(timed(NODE, ['-e', '0'], env));
      series.npxMailctl.push(timed('npx', ['mailctl', 'domain', 'list'], env));
      series.npxNode.push(timed('npx', ['--no', 'node', '-e', '0'], env));
    }
    const domainListMs = median(series.mailctl);
    const nodeBaselineMs = median(series.node);
    return {
      runs: options.runs, firstCallMs, domainListMs, nodeBaselineMs, ratioToNode: domainListMs / nodeBaselineMs,
      npxDomainListMs: median(series.npxMailctl), npxNodeBaselineMs: median(series.npxNode),
    };
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function printMailctl(r: MailctlResult): void {
  console.log('\nmailctl start-up (median of %d runs)', r.runs);
  console.log('  mailctl domain list       %s ms', r.domainListMs.toFixed(0));
  console.log('  node -e 0 (Node 24)       %s ms   (ratio %s)', r.nodeBaselineMs.toFixed(0), r.ratioToNode.toFixed(2));
  console.log('  npx mailctl domain list   %s ms', r.npxDomainListMs.toFixed(0));
  console.log('  npx node -e 0             %s ms', r.npxNodeBaselineMs.toFixed(0));
  console.log('  first call (builds the bundle)  %s ms', r.firstCallMs.toFixed(0));
}
