// Least-privilege grants, spelt out action by action so a reviewer can read what each role may do.
// Nothing here grants s3:DeleteObject: blobs leave only through the bucket's lifecycle rule.
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ses from 'aws-cdk-lib/aws-ses';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BUCKET } from '../core/resources.ts';

const rawObjects = (bucket: s3.IBucket) => bucket.arnForObjects(`${BUCKET.rawPrefix}*`);

/** Write new raw blobs (streaming multipart put, and aborting one that failed). */
export function allowPutRawBlobs(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    resources: [rawObjects(bucket)],
  }));
}

/** Read raw blobs, including ranged GETs. */
export function allowGetRawBlobs(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'],
    resources: [rawObjects(bucket)],
  }));
}

/** Tag a blob whose last reference went, so the lifecycle rule expires it. */
export function allowTagRawBlobs(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:PutObjectTagging'],
    resources: [rawObjects(bucket)],
  }));
}

/** SendMessage only: core/queues.ts sends to the queue URL it is given and never looks a queue up. */
export function allowSendMessage(grantee: iam.IGrantable, queue: sqs.IQueue): void {
  queue.grant(grantee, 'sqs:SendMessage');
}

/** DynamoDB operations the code is known to call (test/infra/grants-vs-code.test.ts checks each role's list). */
export type ItemOperation = 'GetItem' | 'BatchGetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'Query';

/**
 * Exactly `operations` on the table (its items, and Query on its key), not on its indexes: every
 * role's requests are recorded by the grants test, so each list is what the code calls.
 */
export function allowItemOperations(grantee: iam.IGrantable, table: dynamodb.ITable, operations: readonly ItemOperation[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: operations.map((o) => `dynamodb:${o}`),
    resources: [table.tableArn],
  }));
}

/** Query on one named global index of a table (not `index/*`). */
export function allowQueryIndex(grantee: iam.IGrantable, table: dynamodb.ITable, indexName: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['dynamodb:Query'],
    resources: [`${table.tableArn}/index/${indexName}`],
  }));
}

/**
 * GetSecretValue on one secret (not DescribeSecret, which `grantRead` adds). A secret imported by
 * name has an unknown six-character suffix, so its ARN ends in `-??????` (one secret, any suffix).
 */
export function allowReadSecretValue(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:GetSecretValue'],
    resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  }));
}

/**
 * Count submissions in the directory's hourly `sent#<account>` items, and nothing else:
 * dynamodb:LeadingKeys limits the writes to those partition keys.
 */
export function allowCountSubmissions(grantee: iam.IGrantable, directory: dynamodb.ITable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['dynamodb:UpdateItem'],
    resources: [directory.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['sent#*'] } },
  }));
}

/**
 * The junk filter's items in the directory (`junk#<account>`: model head and bodies, training
 * records; core/store/junk-model.ts) and nothing else of it: dynamodb:LeadingKeys limits
 * `operations` to those partition keys.
 */
export function allowJunkModel(grantee: iam.IGrantable, directory: dynamodb.ITable, operations: readonly ItemOperation[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: operations.map((o) => `dynamodb:${o}`),
    resources: [directory.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['junk#*'] } },
  }));
}

/**
 * Send through the SES API as the stack's own domain identities, nothing else. SESv2 SendEmail with
 * raw content is authorised as ses:SendRawEmail on the identity of the sender (Amazon SES developer
 * guide, "Controlling access to Amazon SES": actions, and the identity ARN as the resource); the
 * relay never sends simple or templated content, so ses:SendEmail is not granted.
 */
export function allowSendRawEmail(grantee: iam.IGrantable, identities: readonly ses.IEmailIdentity[]): void {
  if (identities.length === 0) return;
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['ses:SendRawEmail'],
    resources: identities.map((i) => i.emailIdentityArn),
  }));
}

/** Write new versions of one secret (PutSecretValue), nothing else: the certificate export function. */
export function allowPutSecretValue(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:PutSecretValue'],
    resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  }));
}

/** ExportCertificate on one ACM certificate: its key and chain, for the services' own TLS. */
export function allowExportCertificate(grantee: iam.IGrantable, certificateArn: string): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['acm:ExportCertificate'],
    resources: [certificateArn],
  }));
}
