// The images build the services from the entry points the local stack runs: multi-stage,
// node:24-slim, non-root, and the bundle the CMD starts is the one the build stage produces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../infra/app.ts';
import { bundleService } from '../../infra/images/bundle.ts';
import { ENTRY_POINTS } from '../../infra/service-contract.ts';
import { fullStack } from './synth.ts';

interface Stage { from: string; lines: string[] }

function stages(dockerfile: string): Stage[] {
  const out: Stage[] = [];
  for (const raw of fs.readFileSync(dockerfile, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)/i.exec(line);
    if (from) out.push({ from: from[1]!, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** Staged Docker build contexts of the synthesised app, by Dockerfile path. */
function stagedContexts(): Map<string, string> {
  const { outdir } = fullStack();
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'Mail.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile?: string } }> };
  return new Map(Object.values(manifest.dockerImages).map((i) => [i.source.dockerFile ?? 'Dockerfile', path.join(outdir, i.source.directory)]));
}

for (const [component, dockerfile] of [['edge', 'smtp-edge/Dockerfile'], ['mailbox', 'mailbox-server/Dockerfile']] as const) {
  describe(dockerfile, () => {
    const entry = ENTRY_POINTS[component];
    const s = stages(path.join(REPO_ROOT, dockerfile));
    const build = s[0]!;
    const runtime = s.at(-1)!;
    const bundleLine = build.lines.find((l) => /^RUN node infra\/images\/bundle\.ts /.test(l));
    const [, bundleEntry, bundleOut] = /bundle\.ts\s+(\S+)\s+(\S+)/.exec(bundleLine ?? '') ?? [];

    it('is multi-stage on node:24-slim and runs as a non-root user', () => {
      assert.ok(s.length >= 2, 'a build stage and a runtime stage');
      for (const stage of s) assert.match(stage.from, /^node:24-slim\b/);
      const users = runtime.lines.filter((l) => /^USER\s/i.test(l));
      assert.equal(users.at(-1), 'USER node');
      assert.ok(!runtime.lines.some((l) => /^RUN\s.*npm\s/.test(l)), 'no package install in the runtime image');
    });

    it(`bundles ${entry}, the local stack's entry point, and starts that bundle`, () => {
      assert.equal(bundleEntry, entry);
      const cmd = JSON.parse(runtime.lines.find((l) => l.startsWith('CMD'))!.slice(3).trim()) as string[];
      assert.equal(cmd[0], 'node');
      const workdir = runtime.lines.find((l) => l.startsWith('WORKDIR'))!.split(/\s+/)[1]!;
      const copy = runtime.lines.find((l) => l.includes('--from=build'))!.split(/\s+/);
      assert.equal(copy.at(-2), `/src/${path.dirname(bundleOut!)}/`);
      assert.equal(path.posix.join(workdir, cmd.at(-1)!), path.posix.join(workdir, path.basename(bundleOut!)), 'CMD runs the bundle the build stage wrote');
      const entrypoint = runtime.lines.find((l) => l.startsWith('ENTRYPOINT'));
      assert.ok(entrypoint, 'the TLS entrypoint');
      const script = runtime.lines.find((l) => l.includes('tls-from-env.sh'))!.split(/\s+/).find((w) => w.endsWith('.sh'))!;
      assert.ok(fs.existsSync(path.join(REPO_ROOT, script)), script);
    });

    it('has a build context with everything the build stage copies, and no node_modules', () => {
      const context = stagedContexts().get(dockerfile);
      assert.ok(context, `the synthesised app stages ${dockerfile}`);
      const copies = build.lines.filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1)).filter((w) => !w.startsWith('--'));
      for (const source of copies) assert.ok(fs.existsSync(path.join(context, source)), `${source} is in the build context`);
      assert.ok(!fs.existsSync(path.join(context, 'node_modules')));
      assert.ok(fs.existsSync(path.join(context, entry)), `${entry} is in the build context`);
    });

    it('produces the bundle its CMD starts', async () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mail-bundle-')), path.basename(bundleOut!));
      await bundleService(path.join(REPO_ROOT, entry), out);
      const code = fs.readFileSync(out, 'utf8');
      assert.ok(code.length > 1000, 'a real bundle');
      assert.match(code, /createRequire/);
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    });
  });
}
