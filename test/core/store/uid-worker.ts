// A delivery writer for the UID concurrency tests: files the delivery keys it is given into one
// mailbox, as a separate process, one fileMessage call per key or, with `batch`, fileMessages calls
// of that many keys (as the inbound function files an SQS batch). With `stallKey` set it stops for
// good at `stallAt` of the call filing that key, announces `stalled <uid>`, and waits to be killed:
//   put (default): right after writing a message, before advancing uidNext;
//   claim: after claiming a UID for a message, before putting it there;
//   reserve: after reserving UIDs for the call's messages, before writing anything.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createStore } from '../../../core/store/index.ts';
import { fileRequest } from './fixtures.ts';

interface WorkerJob {
  endpoint: string;
  tables: Parameters<typeof createStore>[1];
  account: string;
  keys: string[];
  stallKey?: string;
  stallAt?: 'put' | 'claim' | 'reserve';
  batch?: number;
}

const job = JSON.parse(process.env.UID_WORKER_JOB ?? '') as WorkerJob;
const dynamodb = new DynamoDBClient({ endpoint: job.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const doc = DynamoDBDocumentClient.from(dynamodb);
let filing: string[] = [];
const stall = (uid: number) => {
  if (!job.stallKey || !filing.includes(job.stallKey)) return;
  process.stdout.write(`stalled ${uid}\n`);
  // Hang with a live timer: a bare unsettled promise would let node exit on its own.
  setInterval(() => undefined, 60_000);
  return new Promise<void>(() => undefined);
};
const { mailStore } = createStore(doc, job.tables, {
  hooks: {
    afterMessagePut: (uid) => ((job.stallAt ?? 'put') === 'put' ? stall(uid) : undefined),
    beforeMessagePut: (uid) => (job.stallAt === 'claim' ? stall(uid) : undefined),
    afterReserve: (uids) => (job.stallAt === 'reserve' ? stall(uids[0]!) : undefined),
  },
});
const size = job.batch ?? 1;
for (let i = 0; i < job.keys.length; i += size) {
  filing = job.keys.slice(i, i + size);
  if (size === 1) {
    await mailStore.fileMessage(fileRequest(job.account, filing[0]!));
  } else {
    const results = await mailStore.fileMessages(filing.map((key) => fileRequest(job.account, key)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}
process.stdout.write('done\n');
dynamodb.destroy();
