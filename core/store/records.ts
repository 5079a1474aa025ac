// The mail store's items in DynamoDB: their keys, their conversion to the domain types, and how
// long what a writer leaves behind is kept. Shared by the store's parts in this folder.
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../config.ts';
import type { MessageIndex } from '../mime/types.ts';
import { addressKey } from '../addresses.ts';
import { StoreError, type Mailbox, type MessageItem, type MessageState, type SpecialUse } from './types.ts';
import { recentUpToOf } from './recent.ts';

export type Tables = ResourceNames['tables'];
export type Item = Record<string, unknown>;

/** Tombstones outlive any writer that could still hold a stale uidNext (invariant 3). */
export const TOMBSTONE_SECONDS = 400 * 24 * 3600;
/** Above this JSON size the MIME index is stored gzipped, keeping items under DynamoDB's 400 KB. */
const INDEX_INLINE_LIMIT = 300_000;
const INDEX_STORED_LIMIT = 360_000;

export const nowSeconds = () => Math.floor(Date.now() / 1000);
export const mailboxSk = (id: string) => `mbox#${id}`;
export const nameSk = (name: string) => `name#${name}`;
/**
 * The claim naming the account's mailbox of a special use (RFC 6154), so filing finds Junk in the
 * same BatchGetItem as INBOX's name claim; NO_MAILBOX when the account has none.
 */
export const useSk = (use: SpecialUse) => `use#${use}`;
export const NO_MAILBOX = 'none';
export const UID_VALIDITY_SK = 'uidvalidity';
/** The account's storage counter (bytes of live messages) in the mailboxes table, beside its mailboxes. */
export const USAGE_SK = 'usage';

export function accountKey(account: string): string {
  const key = addressKey(account);
  if (!key) throw new StoreError('invalid', 'Invalid account address');
  return key;
}

// Item to domain type, one function per kind of item (toMailbox, toMessage, toState): alike in
// shape on purpose, each the one reading of its item's attributes.
export function toMailbox(item: Item): Mailbox {
  return {
    account: item.pk as string,
    id: item.id as string,
    name: item.name as string,
    uidValidity: item.uidValidity as number,
    uidNext: item.uidNext as number,
    highestModSeq: item.highestModSeq as number,
    subscribed: Boolean(item.subscribed),
    specialUse: (item.specialUse as SpecialUse | undefined) ?? null,
    recentUpTo: recentUpToOf(item),
  };
}

export function encodeIndex(index: MessageIndex): Item {
  const json = JSON.stringify(index);
  if (json.length <= INDEX_INLINE_LIMIT) return { index };
  const packed = gzipSync(json);
  if (packed.length > INDEX_STORED_LIMIT) throw new StoreError('invalid', 'Message structure too large to store');
  return { indexZ: new Uint8Array(packed) };
}

export function decodeIndex(item: Item): MessageIndex {
  if (item.indexZ) return JSON.parse(gunzipSync(item.indexZ as Uint8Array).toString('utf8')) as MessageIndex;
  return item.index as MessageIndex;
}

/** A message item as read (see toMailbox: one reading per kind of item). */
export function toMessage(item: Item): MessageItem {
  return {
    mailboxId: item.mailboxId as string,
    uid: item.uid as number,
    blobKey: item.blobKey as string,
    size: item.size as number,
    internalDate: item.internalDate as string,
    flags: (item.flags as string[] | undefined) ?? [],
    modSeq: modSeqOf(item),
    index: decodeIndex(item),
    expunged: Boolean(item.expunged),
    savedAt: (item.createdAt as string | undefined) ?? null,
    ...(typeof item.headerPrefix === 'string' ? { headerPrefix: item.headerPrefix } : {}),
  };
}

export const isLive = (item: Item) => !item.expunged;

/**
 * The index of core/resources.ts that answers "what changed since modseq M". It is sparse
 * (docs/decisions/0024-sparse-index-and-delivery-claims.md): a message is filed with its modseq in
 * `createdModSeq`, outside the index key, and gets `modSeq` (an index entry) only when it changes
 * (flags, expunge). Readers learn of new messages from the UID range above the uidNext they know
 * (invariant 3), so the index need only hold changes to messages that may already be known.
 */
export const BY_MODSEQ_INDEX = 'byModSeq';
/** The item's mod-sequence (RFC 7162 §3.1): of its last change, else of its filing; 0 for a hole's tombstone. */
export const modSeqOf = (item: Item): number => (item.modSeq as number | undefined) ?? (item.createdModSeq as number | undefined) ?? 0;
/** The state fields of a message item in the base table. */
export const STATE_PROJECTION = '#uid, #flags, #modSeq, #createdModSeq, #size, #internalDate, #expunged';
export const STATE_NAMES = {
  '#uid': 'uid', '#flags': 'flags', '#modSeq': 'modSeq', '#createdModSeq': 'createdModSeq', '#size': 'size', '#internalDate': 'internalDate', '#expunged': 'expunged',
};
/** The same from the byModSeq index, whose entries all carry `modSeq` (and which projects no `createdModSeq`). */
export const INDEX_STATE_PROJECTION = '#uid, #flags, #modSeq, #size, #internalDate, #expunged';
export const INDEX_STATE_NAMES = { '#uid': 'uid', '#flags': 'flags', '#modSeq': 'modSeq', '#size': 'size', '#internalDate': 'internalDate', '#expunged': 'expunged' };

export function toState(item: Item): MessageState {
  return {
    uid: item.uid as number,
    flags: (item.flags as string[] | undefined) ?? [],
    modSeq: modSeqOf(item),
    size: (item.size as number | undefined) ?? 0,
    internalDate: (item.internalDate as string | undefined) ?? new Date(0).toISOString(),
    expunged: Boolean(item.expunged),
  };
}

export const isMissingIndex = (err: unknown) =>
  (err as { name?: string }).name === 'ValidationException' && /index/i.test((err as Error).message ?? '');

/** One item, strongly consistent, or null. */
export async function getItem(doc: DynamoDBDocumentClient, table: string, key: Item): Promise<Item | null> {
  const got = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  return got.Item ?? null;
}
