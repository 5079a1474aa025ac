// Test harness for end-to-end tests: the whole local stack (each component its own process) in a
// temporary data folder, every port random. Call `close()` in `after`/`t.after` (also on failure).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type ComponentName, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';

export interface TestStack extends LocalStack {
  /** The demo account's password (the stack is always fresh here, so it is known). */
  readonly demoPassword: string;
  /** The components' last output lines, for assertion messages. */
  readonly logs: string[];
  /** Stops every process and removes the data folder. */
  close(): Promise<void>;
}

const RANDOM_PORTS = { smtp: 0, submission: 0, smtps: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, objectQueue: 0, dynamo: 0 };
const KEPT_LOG_LINES = 500;

export async function startTestStack(
  options: { components?: ComponentName[] } & Pick<LocalStackOptions, 'componentEnv' | 'runnerConcurrency' | 'hostname' | 'onEvent'> = {},
): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-stack-'));
  const logs: string[] = [];
  const echo = process.env.MAIL_TEST_STACK_LOG === '1';
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir,
      ports: RANDOM_PORTS,
      hostname: options.hostname ?? 'mx.test.local',
      graceMs: 3000,
      ...options,
      log: (component, line) => {
        logs.push(`[${component}] ${line}`);
        if (logs.length > KEPT_LOG_LINES) logs.shift();
        if (echo) process.stderr.write(`[${component}] ${line}\n`);
      },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...stack,
    demoPassword: stack.demo.password!,
    logs,
    async close() {
      try {
        await stack.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
