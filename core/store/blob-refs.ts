// Blob reference counts (docs/decisions/0004-blob-lifecycle.md): how many message items and
// pending outbound deliveries hold each raw message in S3; the last one to let go tags it.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BlobReferences } from '../outbound/enqueue.ts';
import { getItem, type Tables } from './records.ts';

export interface BlobReferenceOptions {
  /** Called when the last message referencing a blob goes; the caller tags the blob (docs/decisions/0004-blob-lifecycle.md). */
  readonly onOrphan?: (blobKey: string) => Promise<void> | void;
}

export class DynamoBlobReferences implements BlobReferences {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Pick<Tables, 'blobrefs'>,
    private readonly options: BlobReferenceOptions = {},
  ) {}


  /**
   * Counts one more holder of a blob: a message item (done by filing and COPY) or a pending
   * outbound delivery (done by enqueueOutbound). Counting errs high, never low: a leak keeps
   * a blob, an undercount could expire one still needed.
   */
  async retainBlob(blobKey: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.blobrefs,
        Key: { pk: blobKey },
        UpdateExpression: 'ADD refs :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /** Drops one holder; the last one calls `onOrphan`, which tags the blob for the lifecycle rule. */
  async releaseBlob(blobKey: string): Promise<void> {
    const result = await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.blobrefs,
        Key: { pk: blobKey },
        UpdateExpression: 'ADD refs :minus',
        ExpressionAttributeValues: { ':minus': -1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if (((result.Attributes?.refs as number | undefined) ?? 0) <= 0) await this.options.onOrphan?.(blobKey);
  }

  /** Reference count of a blob (for tests and the CLI). */
  async blobReferences(blobKey: string): Promise<number> {
    const item = await getItem(this.doc, this.tables.blobrefs, { pk: blobKey });
    return (item?.refs as number | undefined) ?? 0;
  }
}
