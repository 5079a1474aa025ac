// mailctl's composition root: real stdio and environment, the DynamoDB store, process exit code.
import { mailctl, type Connect } from './mailctl.ts';

// The AWS SDK and the store are loaded only when a command needs them, so --help and usage
// errors answer at once.
const connect: Connect = async (config) => {
  const [{ createAwsClients, destroyAwsClients }, { createStore }, { OutboundQueueStore }, { DkimKeyStore }, { QueueSender }, { BlobStore }] = await Promise.all([
    import('../core/aws.ts'), import('../core/store/index.ts'), import('../core/store/outbound-queue.ts'),
    import('../core/store/dkim-keys.ts'), import('../core/queues.ts'), import('../core/blobs.ts'),
  ]);
  const clients = createAwsClients(config.aws);
  const blobs = new BlobStore(clients.s3, config.resources.bucket);
  const store = createStore(clients, config.resources, { onOrphan: (key) => blobs.markOrphan(key) });
  const queue = new QueueSender(clients.sqs);
  return {
    directory: store.directory,
    mailStore: store.mailStore,
    outbound: {
      records: new OutboundQueueStore(clients.doc, config.resources.tables.deliveries),
      dkimKeys: new DkimKeyStore(clients.doc, config.resources.tables.directory),
      requeue: (event) => queue.sendOutbound(config.resources.queues.outbound, event, 0),
      releaseBlob: (key) => store.mailStore.releaseBlob(key),
    },
    close() {
      destroyAwsClients(clients);
    },
  };
};

process.exitCode = await mailctl(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }, connect);
