// The options every AWS SDK client of ours is built with. With the factories beside it (one
// module per client, so a composition root loads only the SDKs it uses), the only place
// endpoints are overridden: nothing below the composition root knows whether it talks to AWS or
// to an emulator.
import type { AwsConfig } from '../config.ts';

// The SDK waits forever on a silent socket by default; an SMTP client waiting for its 250 or a
// Lambda batch would hang with it. Connect fast or fail; 60 s of silence is a dead request (it is
// retried by the SDK's retry strategy).
const REQUEST_HANDLER = { connectionTimeout: 5_000, requestTimeout: 60_000 };

/**
 * Sockets of the S3 client's pool (the SDK's default is 50). A session reads many small bodies at
 * once (core/blob-read-budget.ts, whose process-wide limit is taken from this), and S3 serves
 * thousands of GETs a second per prefix (S3 performance guidelines); a socket per read in flight
 * keeps reads from queueing for a connection inside the SDK.
 */
export const S3_SOCKETS = 256;

export function clientOptions(config: AwsConfig, endpoint: string | undefined, options: { sockets?: number } = {}) {
  const pool = options.sockets ? { httpAgent: { maxSockets: options.sockets }, httpsAgent: { maxSockets: options.sockets } } : {};
  return {
    region: config.region,
    endpoint,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    requestHandler: { ...REQUEST_HANDLER, ...pool },
  };
}

/**
 * The options of a client for a service that only exists in AWS (Secrets Manager, SES, ACM): no
 * emulator, so no endpoint override, but the same timeouts as every other client.
 */
export function awsOnlyClientOptions(region: string) {
  return { region, requestHandler: REQUEST_HANDLER };
}
