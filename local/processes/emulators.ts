// Supervised component: the embedded emulators (fauxqs for S3 + SQS, dynalite for DynamoDB),
// persistent under MAIL_DATA_DIR. Prints its ready line with the endpoints it serves.
import { jsonLog } from '../../core/log.ts';
import { announceReady, drainOnSignals } from '../../core/service-process.ts';
import { startEmulators } from '../emulators.ts';

const env = process.env;
const dataDir = env.MAIL_DATA_DIR;
if (!dataDir) throw new Error('MAIL_DATA_DIR is required');
const emulators = await startEmulators({
  dataDir,
  host: env.EMULATOR_HOST ?? '127.0.0.1',
  objectQueuePort: Number(env.EMULATOR_OBJECT_QUEUE_PORT ?? 0),
  dynamoPort: Number(env.EMULATOR_DYNAMO_PORT ?? 0),
});

drainOnSignals(jsonLog((line) => process.stdout.write(line), 'emulators'), () => emulators.stop());

const port = (endpoint: string) => Number(new URL(endpoint).port);
announceReady({
  objectQueueEndpoint: emulators.objectQueueEndpoint,
  dynamoEndpoint: emulators.dynamoEndpoint,
  ports: { objectQueue: port(emulators.objectQueueEndpoint), dynamo: port(emulators.dynamoEndpoint) },
});
