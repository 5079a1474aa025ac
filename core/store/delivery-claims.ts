// Delivery claims (docs/decisions/0024-sparse-index-and-delivery-claims.md): the idempotency record
// of a delivery into a mailbox, kept on the reference item of the delivery's blob, so that one
// conditional update both claims the UID a message is about to be put at and counts the message's
// reference to the blob (docs/decisions/0004-blob-lifecycle.md).
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo.ts';
import type { Tables } from './records.ts';

/** Where a delivery is, or is about to be, in its mailbox, and which filing call said so. */
export interface DeliveryClaim {
  readonly uid: number;
  readonly writer: string;
}

/**
 * The attribute of the blob's reference item that holds the claim of `deliveryKey` in `mailboxId`.
 * One per recipient mailbox of an inbound message (the blob is the message's own); APPEND and
 * import file one message per blob.
 */
export const claimAttribute = (deliveryKey: string, mailboxId: string) => `claim#${deliveryKey}#${mailboxId}`;

const NAMES = (attribute: string) => ({ '#c': attribute, '#uid': 'uid' });

export class DeliveryClaims {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Pick<Tables, 'blobrefs'>,
  ) {}

  /**
   * Records the first claim of a delivery and counts its reference to the blob, in one write.
   * Returns false, having changed nothing, when the delivery is claimed already (a redelivery, or
   * another writer of the same delivery): the reference stays counted once, with the first claim.
   */
  async create(blobKey: string, attribute: string, claim: DeliveryClaim): Promise<boolean> {
    return this.updateIf({
      Key: { pk: blobKey },
      UpdateExpression: 'SET #c = :claim ADD refs :one',
      ConditionExpression: 'attribute_not_exists(#c)',
      ExpressionAttributeNames: { '#c': attribute },
      ExpressionAttributeValues: { ':claim': claim, ':one': 1 },
    });
  }

  /** Moves a claim from UID `from` to `claim.uid`; false when it no longer stands at `from`. The reference is not counted again. */
  async move(blobKey: string, attribute: string, from: number, claim: DeliveryClaim): Promise<boolean> {
    return this.updateIf({
      Key: { pk: blobKey },
      UpdateExpression: 'SET #c = :claim',
      ConditionExpression: '#c.#uid = :from',
      ExpressionAttributeNames: NAMES(attribute),
      ExpressionAttributeValues: { ':claim': claim, ':from': from },
    });
  }

  /** The claim as it stands (strongly consistent), or null. */
  async read(blobKey: string, attribute: string): Promise<DeliveryClaim | null> {
    const got = await this.doc.send(
      new GetCommand({
        TableName: this.tables.blobrefs,
        Key: { pk: blobKey },
        ProjectionExpression: '#c',
        ExpressionAttributeNames: { '#c': attribute },
        ConsistentRead: true,
      }),
    );
    return (got.Item?.[attribute] as DeliveryClaim | undefined) ?? null;
  }

  /** One conditional update of the blob's reference item: true if it was made, false if its condition failed. */
  private async updateIf(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tables.blobrefs, ...input }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
