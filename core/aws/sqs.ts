// The SQS client (options in client-options.ts).
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsConfig } from '../config.ts';
import { clientOptions } from './client-options.ts';
import { addModelledLatency } from './latency.ts';

export function createSqsClient(config: AwsConfig): SQSClient {
  const client = new SQSClient(clientOptions(config, config.endpoints.sqs));
  if (config.latency) addModelledLatency(client, 'sqs', config.latency, config.endpoints.sqs);
  return client;
}
