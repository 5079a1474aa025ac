// The S3 client (options in client-options.ts, with a larger socket pool); emulators need
// path-style addressing.
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsConfig } from '../config.ts';
import { clientOptions, S3_SOCKETS } from './client-options.ts';
import { addModelledLatency } from './latency.ts';

export function createS3Client(config: AwsConfig): S3Client {
  const client = new S3Client({ ...clientOptions(config, config.endpoints.s3, { sockets: S3_SOCKETS }), forcePathStyle: Boolean(config.endpoints.s3) });
  if (config.latency) addModelledLatency(client, 's3', config.latency, config.endpoints.s3);
  return client;
}
