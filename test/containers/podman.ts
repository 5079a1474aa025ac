// Podman as the container tests drive it: rootful, runc, host network, the project's
// containers.conf, and storage under .test-data/containers/ so a second run reuses the layers.
// The Dockerfile's stages start `FROM node:24-slim`, which cannot be pulled here; `ensureNodeStandIn`
// builds a local image under that name from Debian's own packages and the node@24 binary.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../infra/app.ts';
import { SERVICE_DOCKERFILE, type ServiceImage } from '../../infra/service-contract.ts';

/** Reused between runs (git-ignored): the debootstrap tree, podman's storage, npm's cache for the builds. */
export const CACHE_DIR = join(REPO_ROOT, '.test-data', 'containers');
const STORAGE = join(CACHE_DIR, 'storage');
// Podman keeps sockets under its run root; a path below the repository can exceed the 108 bytes
// of a Unix socket address, so this one lives in the short system temp folder.
const RUN_ROOT = join(tmpdir(), 'mail-test-podman');
const CONTAINERS_CONF = join(REPO_ROOT, 'test', 'containers', 'containers.conf');

/** The name podman resolves the Dockerfile's `FROM node:24-slim` to. */
export const NODE_IMAGE = 'docker.io/library/node:24-slim';
const DEBIAN_IMAGE = 'localhost/mail-test/debian-bookworm-minbase';
const STAND_IN_RECIPE = join(REPO_ROOT, 'test', 'containers', 'node-stand-in.Containerfile');

export interface Run {
  stdout: string;
  stderr: string;
}

/** Runs `podman <args>` with the project's configuration; rejects with its output on failure. */
export function podman(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('podman', [...globalArgs(), ...args], { env: podmanEnv(options.env), maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`podman ${args.join(' ')} failed: ${error.message}\n${stderr.slice(-4000)}\n${stdout.slice(-4000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

export function globalArgs(): string[] {
  return ['--root', STORAGE, '--runroot', RUN_ROOT, '--storage-driver', 'overlay', '--runtime', 'runc'];
}

export function podmanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, CONTAINERS_CONF };
}

async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const exists = spawnSync('podman', [...globalArgs(), 'image', 'exists', image], { env: podmanEnv() });
  if (exists.status !== 0) return undefined;
  const { stdout } = await podman(['image', 'inspect', '--format', `{{index .Labels "${label}"}}`, image]);
  return stdout.trim();
}

/** Debian bookworm, variant minbase (what debian:bookworm-slim is built from), cached as a tree. */
function debianTree(): string {
  const tree = join(CACHE_DIR, 'bookworm-minbase');
  if (existsSync(join(tree, '.complete'))) return tree;
  const partial = `${tree}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  const run = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', partial, 'http://deb.debian.org/debian'], { encoding: 'utf8', timeout: 900_000 });
  if (run.status !== 0) throw new Error(`debootstrap failed (${run.status ?? run.signal}):\n${(run.stdout + run.stderr).slice(-4000)}`);
  // Downloaded .debs and package lists are not part of an image (debian:*-slim drops them too).
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const entry of readdirSync(join(partial, dir), { withFileTypes: true })) if (entry.isFile() && entry.name !== 'lock') rmSync(join(partial, dir, entry.name));
  }
  rmSync(tree, { recursive: true, force: true });
  renameSync(partial, tree);
  writeFileSync(join(tree, '.complete'), '');
  return tree;
}

/** The Node binary of the node@24 dev dependency and the npm the machine has (for the build stage). */
function nodeAndNpm(): { node: string; npm: string } {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  const node = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  const root = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const npm = join(root, 'npm');
  if (!existsSync(node)) throw new Error(`no Node binary at ${node} (npm ci installs the node@24 dev dependency)`);
  if (!existsSync(join(npm, 'bin', 'npm-cli.js'))) throw new Error(`no npm at ${npm}`);
  return { node, npm };
}

/**
 * The CA bundle this machine's npm is told to trust (`npm config get cafile`), for the build
 * stage's `npm ci`: where egress goes through a TLS-inspecting proxy, the registry's certificate
 * is signed by a CA only the machine knows. Empty where npm trusts the usual roots.
 */
function buildTrust(): { npmrc: string; ca: string } {
  const cafile = spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' }).stdout.trim();
  if (!cafile || cafile === 'null' || cafile === 'undefined' || !existsSync(cafile)) return { npmrc: '', ca: '' };
  return { npmrc: 'cafile=/usr/local/share/npm-egress-ca.pem\n', ca: readFileSync(cafile, 'utf8') };
}

/**
 * Builds the stand-in for node:24-slim unless the one in storage was built from the same recipe,
 * Node binary and npm version. What it differs in is listed in node-stand-in.Containerfile.
 */
export async function ensureNodeStandIn(log: (line: string) => void): Promise<void> {
  const { node, npm } = nodeAndNpm();
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const npmVersion = (JSON.parse(readFileSync(join(npm, 'package.json'), 'utf8')) as { version: string }).version;
  const recipe = readFileSync(STAND_IN_RECIPE, 'utf8');
  const trust = buildTrust();
  const fingerprint = createHash('sha256').update(recipe).update(nodeVersion).update(npmVersion).update(trust.npmrc).update(trust.ca).digest('hex').slice(0, 16);
  if ((await imageLabel(NODE_IMAGE, 'mail.test.stand-in')) === fingerprint) return;

  if ((await imageLabel(DEBIAN_IMAGE, 'mail.test.debian')) === undefined) {
    log('importing Debian bookworm (minbase, debootstrap tree cached in .test-data/containers/)');
    const tree = debianTree();
    const tar = join(CACHE_DIR, 'bookworm-minbase.tar');
    const packed = spawnSync('tar', ['--numeric-owner', '--xattrs', '--exclude=./.complete', '-C', tree, '-cf', tar, '.'], { encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`tar of the Debian tree failed: ${packed.stderr}`);
    await podman(['import', '--change', 'LABEL mail.test.debian=bookworm-minbase', '--change', 'CMD ["bash"]', tar, DEBIAN_IMAGE], { timeoutMs: 600_000 });
    rmSync(tar, { force: true });
  }

  log(`building the node:24-slim stand-in (Node ${nodeVersion}, npm ${npmVersion})`);
  const context = join(CACHE_DIR, 'stand-in-context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(node, join(context, 'node'));
  cpSync(npm, join(context, 'npm'), { recursive: true });
  writeFileSync(join(context, 'npmrc'), trust.npmrc);
  writeFileSync(join(context, 'egress-ca.pem'), trust.ca);
  try {
    await podman(['build', '--pull=never', '--network', 'host', '--build-arg', `NODE_VERSION=${nodeVersion.replace(/^v/, '')}`,
      '--label', `mail.test.stand-in=${fingerprint}`, '-f', STAND_IN_RECIPE, '-t', NODE_IMAGE, context], { timeoutMs: 600_000 });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * `podman build` of one service's target of the repository's Dockerfile, from the repository root
 * as `cdk deploy` builds it (the context is narrowed by .dockerignore). npm's cache for the build
 * stage's `npm ci` is a folder of the test cache, so a changed lock file downloads only what changed.
 */
export async function buildImage(target: ServiceImage, tag: string): Promise<void> {
  const npmCache = join(CACHE_DIR, 'npm-cache');
  mkdirSync(npmCache, { recursive: true });
  await podman(['build', '--pull=never', '--network', 'host', '--volume', `${npmCache}:/root/.npm`, '-f', join(REPO_ROOT, SERVICE_DOCKERFILE), '--target', target, '-t', tag, REPO_ROOT], { timeoutMs: 900_000 });
}
