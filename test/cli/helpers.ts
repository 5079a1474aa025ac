// What the tests that run `mailctl` as a process share: the emulators with a data folder holding
// their stack.json (what `mailctl --data-dir` reads to find them), and a run of the CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createS3Client } from '../../core/aws/s3.ts';
import { BlobStore } from '../../core/blobs.ts';
import { createStore, type Store } from '../../core/store/index.ts';
import { startTestWorld, type TestWorld } from '../helpers/emulators.ts';

const MAIN = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface CliStack {
  readonly world: TestWorld;
  readonly store: Store;
  readonly blobs: BlobStore;
  /** The folder `mailctl --data-dir` is given; removed by `close()`. */
  readonly dataDir: string;
  close(): Promise<void>;
}

/** The emulators and a data folder (named from `prefix`) whose stack.json points at them. */
export async function startCliStack(prefix: string): Promise<CliStack> {
  const world = await startTestWorld();
  const store = createStore(world.clients, world.config.resources);
  const s3 = createS3Client(world.config.aws);
  const blobs = new BlobStore(s3, world.config.resources.bucket);
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dataDir, 'stack.json'), JSON.stringify({ config: world.config }));
  return {
    world, store, blobs, dataDir,
    async close() {
      rmSync(dataDir, { recursive: true, force: true });
      s3.destroy();
      await world.close();
    },
  };
}

export interface MailctlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mailctl --data-dir dataDir …args` to its end; `input` is its standard input. */
export function runMailctl(dataDir: string, args: string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<MailctlRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', TSX, MAIN, '--data-dir', dataDir, ...args],
      { cwd: tmpdir(), timeout: options.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, MAIL_DATA_DIR: '', ...options.env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin!.end(options.input ?? '');
  });
}
