// The emulators in a process of their own for the benchmarks: in the bench's process they would
// share one event loop with our servers and the load's clients, while Dovecot and Postfix run in
// processes of their own; S3 and DynamoDB are not in our process in AWS either.
//   const emulators = await startEmulatorProcess(dataDir);   // .objectQueueEndpoint, .dynamoEndpoint
//   await emulators.stop();
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Emulators } from '../local/emulators.ts';

const CHILD = `
const { startEmulators } = await import(process.argv[1]);
const emulators = await startEmulators({ dataDir: process.argv[2] });
process.stdout.write(JSON.stringify({ objectQueueEndpoint: emulators.objectQueueEndpoint, dynamoEndpoint: emulators.dynamoEndpoint }) + '\\n');
process.stdin.resume();
process.stdin.on('end', async () => { await emulators.stop(); process.exit(0); });
`;

export async function startEmulatorProcess(dataDir: string): Promise<Emulators> {
  const module = fileURLToPath(new URL('../local/emulators.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, module, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.stdin.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const endpoints = await new Promise<{ objectQueueEndpoint: string; dynamoEndpoint: string }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n')) {
          try {
            resolve(JSON.parse(line!));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`the emulator process exited with ${code}`)));
    });
    return { ...endpoints, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
