// How far `mailctl import` got, per account, source and source folder: the folder's UIDVALIDITY,
// the last UID copied and the UIDs that failed (RFC 3501 §2.3.1.1: a UID means the same message
// only while UIDVALIDITY stands). Kept in the mailboxes table beside the account's mailboxes, so
// removing the account removes it too, and a rerun continues where a killed run stopped.
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { addressKey } from '../addresses.ts';
import { StoreError } from './types.ts';

export interface FolderCheckpoint {
  /** The source folder's UIDVALIDITY (a string: 32 bits on the wire, but sources may use more). */
  readonly uidValidity: string;
  /** Every UID at or below this was copied, found present, or is listed in `failedUids`. */
  readonly lastUid: number;
  /** UIDs the source refused or that could not be filed; retried by the next run. */
  readonly failedUids: readonly number[];
}

export interface ImportProgress {
  get(account: string, source: string, folder: string): Promise<FolderCheckpoint | null>;
  put(account: string, source: string, folder: string, checkpoint: FolderCheckpoint): Promise<void>;
}

/** Sort keys of the mailboxes table that are neither `mbox#` nor `name#`, which listMailboxes ignores. */
const progressSk = (source: string, folder: string) => `import#${source}#${folder}`;

export class ImportProgressStore implements ImportProgress {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mailboxesTable: string,
  ) {}

  private owner(account: string): string {
    const key = addressKey(account);
    if (!key) throw new StoreError('invalid', 'Invalid account address');
    return key;
  }

  async get(account: string, source: string, folder: string): Promise<FolderCheckpoint | null> {
    const got = await this.doc.send(
      new GetCommand({ TableName: this.mailboxesTable, Key: { pk: this.owner(account), sk: progressSk(source, folder) }, ConsistentRead: true }),
    );
    const item = got.Item;
    if (!item) return null;
    return { uidValidity: item.uidValidity as string, lastUid: item.lastUid as number, failedUids: (item.failedUids as number[] | undefined) ?? [] };
  }

  async put(account: string, source: string, folder: string, checkpoint: FolderCheckpoint): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.mailboxesTable,
        Item: {
          pk: this.owner(account),
          sk: progressSk(source, folder),
          uidValidity: checkpoint.uidValidity,
          lastUid: checkpoint.lastUid,
          failedUids: [...checkpoint.failedUids],
          updatedAt: new Date().toISOString(),
        },
      }),
    );
  }
}
