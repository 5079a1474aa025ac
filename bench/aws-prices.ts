// Public on-demand prices of the AWS requests the pipeline makes, written once, with their date and
// region, so the benchmarks can print what a million messages cost. Requests only: storage, data
// transfer, Lambda and Fargate time are not in it (the bench counts requests, not seconds).

/** Where and when these prices were read (AWS's pricing pages, and secondary pages quoting them). */
export const PRICES_AS_OF = { date: '2026-12-05', region: 'us-east-1' } as const;

/** Dollars per one request or unit. */
export const AWS_PRICES = {
  /** S3 Standard PUT, COPY, POST, LIST: $0.005 per 1,000 requests. */
  s3Put: 0.005 / 1000,
  /** S3 Standard GET, SELECT and all other requests: $0.0004 per 1,000 requests. */
  s3Get: 0.0004 / 1000,
  /** SQS standard queue: $0.40 per million requests (each 64 KB chunk of a payload is one request), after the first million a month. */
  sqsRequest: 0.4 / 1_000_000,
  /** DynamoDB on demand, standard table class: $0.625 per million write request units (1 KB each, GSI writes included). */
  dynamoWru: 0.625 / 1_000_000,
  /** DynamoDB on demand: $0.125 per million read request units (4 KB strongly consistent, or 8 KB eventually consistent). */
  dynamoRru: 0.125 / 1_000_000,
} as const;

/** S3 operations billed at the PUT tier; everything else of S3 is billed at the GET tier. */
const S3_PUT_TIER = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'ListObjects', 'ListObjectsV2', 'PutObjectTagging']);

/** Requests by `Service.Operation` (core/aws.ts RequestCounter) and DynamoDB capacity units, per message. */
export interface RequestCost {
  readonly requests: Readonly<Record<string, number>>;
  readonly dynamo: { readonly wru: number; readonly rru: number };
}

/** Dollars per message, by service, for the requests and capacity units of one message. */
export function dollarsPerMessage(cost: RequestCost): { s3: number; sqs: number; dynamodb: number; total: number } {
  let s3 = 0;
  let sqs = 0;
  for (const [key, count] of Object.entries(cost.requests)) {
    const [service, operation] = key.split('.') as [string, string];
    if (service === 'S3') s3 += count * (S3_PUT_TIER.has(operation) ? AWS_PRICES.s3Put : AWS_PRICES.s3Get);
    else if (service === 'SQS') sqs += count * AWS_PRICES.sqsRequest;
  }
  const dynamodb = cost.dynamo.wru * AWS_PRICES.dynamoWru + cost.dynamo.rru * AWS_PRICES.dynamoRru;
  return { s3, sqs, dynamodb, total: s3 + sqs + dynamodb };
}
