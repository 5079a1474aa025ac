// A delivery writer for the UID concurrency test: files the delivery keys it is given into one
// mailbox, as a separate process. With STALL_KEY set it stops for good right after writing that
// message (before recording it and advancing uidNext), announces `stalled <uid>`, and waits to be killed.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../../core/store/index.ts';
import { fileRequest } from './fixtures.ts';

interface WorkerJob {
  endpoint: string;
  tables: Parameters<typeof createStore>[1];
  account: string;
  keys: string[];
  stallKey?: string;
}

const job = JSON.parse(process.env.UID_WORKER_JOB ?? '') as WorkerJob;
const dynamodb = new DynamoDBClient({ endpoint: job.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const doc = DynamoDBDocumentClient.from(dynamodb);
let filing = '';
const { mailStore } = createStore(doc, job.tables, {
  hooks: {
    afterMessagePut: (uid) => {
      if (filing !== job.stallKey) return;
      process.stdout.write(`stalled ${uid}\n`);
      // Hang with a live timer: a bare unsettled promise would let node exit on its own.
      setInterval(() => undefined, 60_000);
      return new Promise<void>(() => undefined);
    },
  },
});
for (const key of job.keys) {
  filing = key;
  await mailStore.fileMessage(fileRequest(job.account, key));
}
process.stdout.write('done\n');
dynamodb.destroy();
