// Bundles a container service's entry point into one ESM file for Node 24, in the Dockerfiles'
// build stage and in the tests (so the tests build exactly what the image runs).
// Usage: node infra/images/bundle.ts <entry.ts> <outfile.mjs>   (Node 24 strips the types itself)
import * as path from 'node:path';
import { build } from 'esbuild';

export async function bundleService(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    sourcemap: true,
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies (smtp-server, nodemailer, ...) call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const [entry, outfile] = process.argv.slice(2);
  if (!entry || !outfile) {
    console.error('usage: node infra/images/bundle.ts <entry.ts> <outfile.mjs>');
    process.exit(2);
  }
  await bundleService(entry, outfile);
}
