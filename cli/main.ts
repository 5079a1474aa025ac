// mailctl's composition root: real stdio and environment, the DynamoDB store, process exit code.
import { mailctl, type Connect } from './mailctl.ts';

/** A value built on first use; `built` tells whether anything needs closing. */
function lazy<T>(build: () => Promise<T>): { get(): Promise<T>; built: Promise<T> | null } {
  const holder = {
    built: null as Promise<T> | null,
    get: () => (holder.built ??= build()),
  };
  return holder;
}

// The AWS SDK and the store are loaded only when a command needs them, so --help and usage
// errors answer at once; and only the clients a command uses: most read DynamoDB alone, S3 and
// SQS are loaded by the few that release a blob or requeue a delivery.
const connect: Connect = async (config) => {
  const [{ createDynamoDbClients }, { createStore }, { OutboundQueueStore }, { DkimKeyStore }] = await Promise.all([
    import('../core/aws/dynamodb.ts'), import('../core/store/index.ts'), import('../core/outbound/queue-store.ts'), import('../core/store/dkim-keys.ts'),
  ]);
  const { dynamodb, doc } = createDynamoDbClients(config.aws);
  const blobs = lazy(async () => {
    const [{ createS3Client }, { BlobStore }] = await Promise.all([import('../core/aws/s3.ts'), import('../core/blobs.ts')]);
    const s3 = createS3Client(config.aws);
    return { client: s3, store: new BlobStore(s3, config.resources.bucket) };
  });
  const queue = lazy(async () => {
    const [{ createSqsClient }, { QueueSender }] = await Promise.all([import('../core/aws/sqs.ts'), import('../core/queues.ts')]);
    const sqs = createSqsClient(config.aws);
    return { client: sqs, sender: new QueueSender(sqs) };
  });
  const store = createStore(doc, config.resources, { onOrphan: async (key) => (await blobs.get()).store.markOrphan(key) });
  return {
    directory: store.directory,
    mailStore: store.mailStore,
    outbound: {
      records: new OutboundQueueStore(doc, config.resources.tables.deliveries),
      dkimKeys: new DkimKeyStore(doc, config.resources.tables.directory),
      requeue: async (event) => (await queue.get()).sender.sendOutbound(config.resources.queues.outbound, event, 0),
      releaseBlob: (key) => store.blobRefs.releaseBlob(key),
    },
    migration: async () => {
      const [{ ImportProgressStore }, blobStore] = await Promise.all([import('../core/store/import-progress.ts'), blobs.get()]);
      return {
        mailStore: store.mailStore,
        blobs: blobStore.store,
        progress: new ImportProgressStore(doc, config.resources.tables.mailboxes),
        quotaUsage: (account) => store.directory.quotaUsage(account),
      };
    },
    close() {
      dynamodb.destroy();
      void blobs.built?.then(({ client }) => client.destroy());
      void queue.built?.then(({ client }) => client.destroy());
    },
  };
};

process.exitCode = await mailctl(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }, connect);
