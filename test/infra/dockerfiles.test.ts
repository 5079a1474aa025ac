// The images build the services from the entry points the local stack runs: one multi-stage
// Dockerfile with a target per service, node:24-slim, non-root, and the bundle the CMD starts is
// the one the target's build stage produces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../infra/app.ts';
import { bundleService } from '../../infra/images/bundle.ts';
import { ENTRY_POINTS, SERVICE_DOCKERFILE, SERVICE_IMAGE_TARGETS } from '../../infra/service-contract.ts';
import { fullStack, resourcesOfType } from './synth.ts';

interface Stage { from: string; name?: string; lines: string[] }

function stages(dockerfile: string): Stage[] {
  const out: Stage[] = [];
  for (const raw of fs.readFileSync(dockerfile, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/**
 * A stage as built: the base image it starts from at the root of its `FROM <stage>` chain, and
 * the lines of that chain in order (the target of `--target`, or the last stage without one).
 */
function resolved(all: readonly Stage[], target?: string): Stage {
  const stage = target ? all.find((st) => st.name === target) : all.at(-1);
  assert.ok(stage, `a stage ${target}`);
  const base = all.find((st) => st.name === stage.from && st !== stage);
  if (!base) return { ...stage, lines: [...stage.lines] };
  const parent = resolved(all, base.name);
  return { from: parent.from, ...(stage.name ? { name: stage.name } : {}), lines: [...parent.lines, ...stage.lines] };
}

interface ImageAssets { dockerImages: Record<string, { source: { directory: string; dockerFile?: string } }> }
const imageAssets = (): ImageAssets => JSON.parse(fs.readFileSync(path.join(fullStack().outdir, 'Mail.assets.json'), 'utf8')) as ImageAssets;

interface ImageSource { directory: string; dockerFile?: string; dockerBuildTarget?: string }

/** Staged Docker build contexts of the synthesised app, by build target. */
function stagedContexts(): Map<string | undefined, { readonly context: string; readonly dockerfile: string }> {
  const { outdir } = fullStack();
  return new Map(Object.values(imageAssets().dockerImages).map((i) => {
    const source = i.source as ImageSource;
    return [source.dockerBuildTarget, { context: path.join(outdir, source.directory), dockerfile: source.dockerFile ?? 'Dockerfile' }];
  }));
}

/** The paths a stage declares with VOLUME, in either form (`VOLUME /a /b`, `VOLUME ["/a"]`). */
function volumes(stage: Stage): string[] {
  return stage.lines.filter((l) => /^VOLUME\s/i.test(l)).flatMap((l) => {
    const args = l.slice('VOLUME'.length).trim();
    return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  }).map((v) => path.posix.normalize(v).replace(/(.)\/$/, '$1'));
}

// ECS creates a task volume mounted into a container as root-owned 0755, unless the image declares
// VOLUME at that path; then the volume starts as a copy of the image's directory, with its owner and
// mode (Amazon ECS developer guide, "Bind mounts": exposing a path from a Dockerfile VOLUME). With a
// read-only root and a non-root USER, an undeclared mount is a directory the service cannot write.
describe('task volumes of read-only containers', () => {
  it('are declared as VOLUME in the image the container runs', () => {
    const { json } = fullStack();
    const assets = imageAssets().dockerImages;
    let checked = 0;
    for (const [taskId, task] of resourcesOfType(json, 'AWS::ECS::TaskDefinition')) {
      for (const container of task.ContainerDefinitions) {
        if (container.ReadonlyRootFilesystem !== true) continue;
        const image = JSON.stringify(container.Image);
        const hash = Object.keys(assets).find((h) => image.includes(`:${h}"`));
        assert.ok(hash, `${taskId}: the container runs an image built from this repository`);
        const source = assets[hash]!.source as ImageSource;
        const dockerfile = source.dockerFile ?? 'Dockerfile';
        const declared = volumes(resolved(stages(path.join(REPO_ROOT, dockerfile)), source.dockerBuildTarget));
        for (const mount of container.MountPoints ?? []) {
          assert.ok(declared.includes(mount.ContainerPath), `${taskId} mounts ${mount.ContainerPath}; ${dockerfile} must declare VOLUME ${mount.ContainerPath}`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 2, 'both services mount a scratch volume');
  });

  it('reads both VOLUME forms (the check can fail)', () => {
    assert.deepEqual(volumes({ from: 'x', lines: ['VOLUME /tmp/ /var/run', 'VOLUME ["/data"]', 'USER node'] }), ['/tmp', '/var/run', '/data']);
    assert.deepEqual(volumes({ from: 'x', lines: ['USER node'] }), []);
  });
});

it('reads a target through the stages it starts from (the check can fail)', () => {
  const all: Stage[] = [
    { from: 'node:24-slim', name: 'base', lines: ['USER node'] },
    { from: 'base', name: 'app', lines: ['CMD ["node"]'] },
    { from: 'node:24-slim', name: 'other', lines: ['USER root'] },
  ];
  assert.deepEqual(resolved(all, 'app'), { from: 'node:24-slim', name: 'app', lines: ['USER node', 'CMD ["node"]'] });
  assert.deepEqual(resolved(all).lines, ['USER root']);
});

for (const [component, target] of Object.entries(SERVICE_IMAGE_TARGETS) as Array<[keyof typeof SERVICE_IMAGE_TARGETS, string]>) {
  describe(`${SERVICE_DOCKERFILE} --target ${target}`, () => {
    const entry = ENTRY_POINTS[component];
    const s = stages(path.join(REPO_ROOT, SERVICE_DOCKERFILE));
    const runtime = resolved(s, target);
    // The build stage is the one the target copies its bundle from.
    const fromStage = /--from=(\S+)/.exec(runtime.lines.find((l) => l.includes('--from='))!)![1]!;
    const build = resolved(s, fromStage);
    const bundleLine = build.lines.find((l) => /^RUN node infra\/images\/bundle\.ts /.test(l));
    const [, bundleEntry, bundleOut] = /bundle\.ts\s+(\S+)\s+(\S+)/.exec(bundleLine ?? '') ?? [];

    it('is multi-stage on node:24-slim and runs as a non-root user', () => {
      assert.notEqual(build.name, runtime.name, 'a build stage and a runtime stage');
      for (const stage of [build, runtime]) assert.match(stage.from, /^node:24-slim\b/);
      const users = runtime.lines.filter((l) => /^USER\s/i.test(l));
      assert.equal(users.at(-1), 'USER node');
      assert.ok(!runtime.lines.some((l) => /^RUN\s.*npm\s/.test(l)), 'no package install in the runtime image');
    });

    it(`bundles ${entry}, the local stack's entry point, and starts that bundle`, () => {
      assert.equal(bundleEntry, entry);
      const cmd = JSON.parse(runtime.lines.find((l) => l.startsWith('CMD'))!.slice(3).trim()) as string[];
      assert.equal(cmd[0], 'node');
      const workdir = runtime.lines.find((l) => l.startsWith('WORKDIR'))!.split(/\s+/)[1]!;
      const copy = runtime.lines.find((l) => l.includes(`--from=${fromStage}`))!.split(/\s+/);
      assert.equal(copy.at(-2), `/src/${path.dirname(bundleOut!)}/`);
      assert.equal(path.posix.join(workdir, cmd.at(-1)!), path.posix.join(workdir, path.basename(bundleOut!)), 'CMD runs the bundle the build stage wrote');
      const entrypoint = runtime.lines.find((l) => l.startsWith('ENTRYPOINT'));
      assert.ok(entrypoint, 'the TLS entrypoint');
      const script = runtime.lines.find((l) => l.includes('tls-from-env.sh'))!.split(/\s+/).find((w) => w.endsWith('.sh'))!;
      assert.ok(fs.existsSync(path.join(REPO_ROOT, script)), script);
    });

    it('has a build context with everything the build stage copies, and no node_modules', () => {
      const staged = stagedContexts().get(target);
      assert.ok(staged, `the synthesised app stages target ${target}`);
      assert.equal(staged.dockerfile, SERVICE_DOCKERFILE);
      const { context } = staged;
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
