// Composition of the DynamoDB store: one directory and one mail store over the shared tables.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsClients } from '../aws.ts';
import type { ResourceNames } from '../config.ts';
import type { VerifiedCredentialCache } from '../verified-credentials.ts';
import { DynamoDirectory } from './directory.ts';
import { DynamoMailStore, type MailStoreOptions } from './mailstore.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';

export { DynamoDirectory, MAX_ALIAS_DEPTH } from './directory.ts';
export { DynamoMailStore, type MailStoreOptions } from './mailstore.ts';
export { MODSEQ_LAND_MS, SETTLE_MS, ModSeqWatermark } from './resync.ts';
export { DynamoBlobReferences, type BlobReferenceOptions } from './blob-refs.ts';
export { DEFAULT_MAILBOXES, normaliseMailboxName } from './mailbox-names.ts';
export * from './types.ts';

export interface Store {
  readonly directory: DynamoDirectory;
  readonly mailStore: DynamoMailStore;
  /** The blob reference counts alone (core/store/blob-refs.ts), for callers that hold blobs but file nothing (the relay). */
  readonly blobRefs: DynamoBlobReferences;
}

export interface StoreOptions extends MailStoreOptions {
  /** For services that check passwords: logins verified recently skip scrypt (core/verified-credentials.ts). */
  readonly verifiedCredentials?: VerifiedCredentialCache;
}

/**
 * Accepts the AWS clients or just the document client, and the resource names or just the
 * table names, so composition roots pass whichever they hold.
 */
export function createStore(
  clients: Pick<AwsClients, 'doc'> | DynamoDBDocumentClient,
  resources: Pick<ResourceNames, 'tables'> | ResourceNames['tables'],
  options: StoreOptions = {},
): Store {
  const doc = 'doc' in clients ? clients.doc : clients;
  const tables = 'tables' in resources ? resources.tables : resources;
  const { verifiedCredentials, ...mailStoreOptions } = options;
  const mailStore = new DynamoMailStore(doc, tables, mailStoreOptions);
  return { directory: new DynamoDirectory(doc, tables, mailStore, verifiedCredentials ?? null), mailStore, blobRefs: mailStore.blobRefs };
}
export { fitsInQuota } from './quota.ts';
