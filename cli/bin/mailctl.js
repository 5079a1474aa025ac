#!/usr/bin/env node
// mailctl's loader, started on Node 24 by the `mailctl` bin (cli/bin/mailctl). It runs
// cli/main.ts in this process from a bundle that esbuild builds on first use and again whenever
// a source file it was built from changes, so a command costs one Node start and a module load,
// not a TypeScript compile of the whole tree. The AWS SDK sits in lazily loaded chunks: `--help`
// and usage errors never load it.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, default as nodeModule } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Paths from this file (symlinks from node_modules/.bin are resolved by node), never from cwd.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = join(root, 'node_modules', '.cache', 'mailctl');
const manifestFile = join(cache, 'manifest.json');
// Besides the sources esbuild read: a dependency upgrade changes the lock file (the bundle holds
// the dependencies' code too), and this file says how the bundle is built.
const ALSO_BUILT_FROM = ['package-lock.json', 'cli/bin/mailctl.js'];


const mtimeOf = (file) => {
  try {
    return statSync(join(root, file)).mtimeMs;
  } catch {
    return -1;
  }
};

/** The bundle's entry file if it was built from the sources as they are now, else null. */
function currentBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return null;
  }
  const fresh = Object.entries(manifest.inputs).every(([file, mtime]) => mtimeOf(file) === mtime);
  return fresh ? join(cache, manifest.dir, 'main.js') : null;
}

/**
 * Our sources find files next to them through `import.meta.url` (cli/target.ts finds the
 * repository root so): in the bundle it keeps meaning the source file's own address.
 */
const sourceUrls = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/** Builds into a new folder, then points the manifest at it (a rename, so readers never see half). */
async function buildBundle() {
  const { build } = createRequire(join(root, 'package.json'))('esbuild');
  const dir = `build-${process.pid}-${Date.now()}`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'cli/main.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    outdir: join(cache, dir),
    metafile: true,
    logLevel: 'error',
    plugins: [sourceUrls],
    // CommonJS dependencies call require(); an ES module bundle has to provide it.
    banner: { js: "import { createRequire as __mailctlRequire } from 'node:module'; const require = __mailctlRequire(import.meta.url);" },
  });
  const sources = Object.keys(result.metafile.inputs).filter((file) => !file.includes('node_modules'));
  const inputs = Object.fromEntries([...sources, ...ALSO_BUILT_FROM].map((file) => [relative(root, join(root, file)), mtimeOf(file)]));
  const temp = `${manifestFile}.${process.pid}`;
  writeFileSync(temp, JSON.stringify({ dir, inputs }));
  renameSync(temp, manifestFile);
  // Earlier builds go once they are old enough that no mailctl started on them can still be loading
  // (two first runs at once each build, and each runs its own).
  for (const old of readdirSync(cache)) {
    const path = join(cache, old);
    if (old.startsWith('build-') && old !== dir && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
  }
  return join(cache, dir, 'main.js');
}

let entry;
try {
  entry = currentBundle();
  if (!entry) {
    mkdirSync(cache, { recursive: true });
    entry = await buildBundle();
  }
} catch (err) {
  process.stderr.write(`mailctl: cannot build ${join(root, 'cli', 'main.ts')}: ${err.message} (run npm install)\n`);
  process.exit(1);
}

// V8's compile cache keeps the bundle's compiled code on disk between runs.
nodeModule.enableCompileCache?.(join(cache, 'v8'));
await import(pathToFileURL(entry).href);
