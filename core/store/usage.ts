// The account's storage usage (the quota's counter): bytes of live messages, one counter item per
// account in the mailboxes table, beside its mailboxes.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { accountKey, getItem, USAGE_SK, type Tables } from './records.ts';

export class DynamoUsageCounters {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Pick<Tables, 'mailboxes'>,
  ) {}


  /** ADD on one counter item: concurrent writers of one account never lose each other's bytes. */
  async addUsage(owner: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.mailboxes,
        Key: { pk: owner, sk: USAGE_SK },
        UpdateExpression: 'ADD #bytes :delta',
        ExpressionAttributeNames: { '#bytes': 'bytes' },
        ExpressionAttributeValues: { ':delta': bytes },
      }),
    );
  }

  /**
   * Bytes of the account's live messages, counted since the counter exists: mail filed before it
   * is not counted, and expunging such mail can take the counter below zero, read as 0.
   */
  async getUsage(account: string): Promise<number> {
    const item = await getItem(this.doc, this.tables.mailboxes, { pk: accountKey(account), sk: USAGE_SK });
    return Math.max(0, (item?.bytes as number | undefined) ?? 0);
  }
}
