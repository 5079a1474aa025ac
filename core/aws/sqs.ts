// The SQS client (options in client-options.ts).
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsConfig } from '../config.ts';
import { clientOptions } from './client-options.ts';

export function createSqsClient(config: AwsConfig): SQSClient {
  return new SQSClient(clientOptions(config, config.endpoints.sqs));
}
