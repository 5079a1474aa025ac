// The embedded AWS emulators: fauxqs (S3 + SQS) and dynalite (DynamoDB), persistent on disk.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { startFauxqs } from 'fauxqs';
import dynalite from 'dynalite';

export interface EmulatorOptions {
  /** Folder for the emulators' data; omit for in-memory state. */
  readonly dataDir?: string;
  /** Port for S3 + SQS (fauxqs); 0 for a free one. */
  readonly objectQueuePort?: number;
  /** Port for DynamoDB (dynalite); 0 for a free one. */
  readonly dynamoPort?: number;
  readonly host?: string;
}

export interface Emulators {
  /** S3 and SQS endpoint. */
  readonly objectQueueEndpoint: string;
  readonly dynamoEndpoint: string;
  stop(): Promise<void>;
}

export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const host = options.host ?? '127.0.0.1';
  let fauxDir: string | undefined;
  let dynaDir: string | undefined;
  if (options.dataDir) {
    fauxDir = join(options.dataDir, 's3-sqs');
    dynaDir = join(options.dataDir, 'dynamodb');
    mkdirSync(fauxDir, { recursive: true });
    mkdirSync(dynaDir, { recursive: true });
  }
  // fauxqs's `host` only names queue URLs (`sqs.<region>.<host>:<port>`); with an IP address
  // that name is not a valid URL for zod, and the SDK sends to the configured endpoint anyway.
  const faux = await startFauxqs({ port: options.objectQueuePort ?? 0, host: 'localhost', logger: false, ...(fauxDir ? { dataDir: fauxDir } : {}) });
  let dyna: Server;
  try {
    dyna = dynalite({ ...(dynaDir ? { path: dynaDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
    await new Promise<void>((resolve, reject) => {
      dyna.once('error', reject);
      dyna.listen(options.dynamoPort ?? 0, host, () => resolve());
    });
  } catch (err) {
    await faux.stop();
    throw err;
  }
  const dynaPort = (dyna.address() as AddressInfo).port;
  return {
    objectQueueEndpoint: faux.address,
    dynamoEndpoint: `http://${host}:${dynaPort}`,
    async stop() {
      dyna.closeAllConnections?.();
      await Promise.all([faux.stop(), new Promise<void>((resolve) => dyna.close(() => resolve()))]);
    },
  };
}
