// mailctl's composition root: real stdio and environment, the DynamoDB store, process exit code.
import { createAwsClients } from '../core/aws.ts';
import { createStore } from '../core/store/index.ts';
import { mailctl, type Connect } from './mailctl.ts';

const connect: Connect = (config) => {
  const clients = createAwsClients(config.aws);
  const store = createStore(clients, config.resources);
  return {
    directory: store.directory,
    mailStore: store.mailStore,
    close() {
      for (const client of [clients.s3, clients.sqs, clients.dynamodb]) client.destroy();
    },
  };
};

process.exitCode = await mailctl(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }, connect);
