// Test harness: emulators on random ports with their own data folder, resources created,
// and everything stopped and removed by `close()` (call it in `after`, also on failure).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients, destroyAwsClients, type AwsClients, RequestCounter } from '../../core/aws.ts';
import type { CoreConfig } from '../../core/config.ts';
import { startEmulators, EMULATOR_CREDENTIALS, type Emulators } from '../../local/emulators.ts';
import { ensureResources } from '../../local/bootstrap.ts';

export interface TestWorld {
  readonly dataDir: string;
  readonly emulators: Emulators;
  readonly config: CoreConfig;
  readonly clients: AwsClients;
  readonly counter: RequestCounter;
  close(): Promise<void>;
}

export async function startTestWorld(options: { mail?: Partial<CoreConfig['mail']>; dynamoEndpoint?: string } = {}): Promise<TestWorld> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mail-test-'));
  const emulators = await startEmulators({ dataDir });
  const aws = {
    region: 'us-east-1',
    endpoints: {
      s3: emulators.objectQueueEndpoint,
      sqs: emulators.objectQueueEndpoint,
      dynamodb: options.dynamoEndpoint ?? emulators.dynamoEndpoint,
    },
    credentials: { ...EMULATOR_CREDENTIALS },
  };
  const counter = new RequestCounter();
  const clients = createAwsClients(aws, counter);
  try {
    const resources = await ensureResources(clients, 'mailtest');
    const config: CoreConfig = {
      aws,
      resources,
      mail: { hostname: 'mx.test.local', maxMessageBytes: 10 * 1024 * 1024, maxRecipients: 100, ...options.mail },
    };
    return {
      dataDir,
      emulators,
      config,
      clients,
      counter,
      async close() {
        destroyAwsClients(clients);
        await emulators.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await emulators.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
