// The mail store over DynamoDB, composed of its parts in this folder: mailboxes and names
// (mailboxes.ts), usage counters (usage.ts), blob references (blob-refs.ts), the mailbox counters
// (mailbox-counters.ts), filing (filing.ts, invariants 2 and 3), and message reads, flags and
// expunge (messages.ts). Callers that need only one part take that part.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoBlobReferences, type BlobReferenceOptions } from './blob-refs.ts';
import { DynamoFiling, type FilingHooks } from './filing.ts';
import { MailboxCounters } from './mailbox-counters.ts';
import { DynamoMailboxes } from './mailboxes.ts';
import { DynamoMessages } from './messages.ts';
import { accountKey, mailboxSk, type Tables } from './records.ts';
import { claimRecent, type RecentClaim } from './recent.ts';
import { DynamoUsageCounters } from './usage.ts';
import type {
  FileRequest,
  FileResult,
  FlagChange,
  Mailbox,
  MessageItem,
  MessageState,
  MessageStore,
  SetFlagsResult,
  SpecialUse,
} from './types.ts';

export interface MailStoreOptions extends BlobReferenceOptions {
  /** Test hooks that stop a writer at the points the concurrency tests need. */
  readonly hooks?: FilingHooks;
}

export class DynamoMailStore implements MessageStore {
  readonly blobRefs: DynamoBlobReferences;
  readonly usage: DynamoUsageCounters;
  readonly mailboxes: DynamoMailboxes;
  readonly counters: MailboxCounters;
  readonly messages: DynamoMessages;
  readonly filing: DynamoFiling;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    options: MailStoreOptions = {},
  ) {
    this.blobRefs = new DynamoBlobReferences(doc, tables, options.onOrphan ? { onOrphan: options.onOrphan } : {});
    this.usage = new DynamoUsageCounters(doc, tables);
    this.mailboxes = new DynamoMailboxes(doc, tables, this.blobRefs, this.usage);
    this.counters = new MailboxCounters(doc, tables);
    this.messages = new DynamoMessages(doc, tables, this.mailboxes, this.counters, this.blobRefs, this.usage);
    this.filing = new DynamoFiling(doc, tables, this.mailboxes, this.counters, this.blobRefs, this.usage, options.hooks);
  }

  // ---- mailboxes (mailboxes.ts) ----------------------------------------------------------

  createMailbox(account: string, name: string, specialUse: SpecialUse | null = null, options: { subscribed?: boolean } = {}): Promise<Mailbox> {
    return this.mailboxes.createMailbox(account, name, specialUse, options);
  }

  getMailbox(account: string, name: string): Promise<Mailbox | null> {
    return this.mailboxes.getMailbox(account, name);
  }

  getMailboxById(account: string, mailboxId: string): Promise<Mailbox | null> {
    return this.mailboxes.getMailboxById(account, mailboxId);
  }

  listMailboxes(account: string): Promise<Mailbox[]> {
    return this.mailboxes.listMailboxes(account);
  }

  /** \Recent (RFC 3501 §2.3.2): claims the UIDs below `upTo` no session has seen (recent.ts). */
  claimRecent(account: string, mailboxId: string, upTo: number): Promise<RecentClaim> {
    return claimRecent(this.doc, this.tables.mailboxes, { pk: accountKey(account), sk: mailboxSk(mailboxId) }, upTo);
  }

  subscribe(account: string, name: string, subscribed: boolean): Promise<void> {
    return this.mailboxes.subscribe(account, name, subscribed);
  }

  renameMailbox(account: string, from: string, to: string): Promise<Mailbox> {
    return this.mailboxes.renameMailbox(account, from, to);
  }

  deleteMailbox(account: string, name: string): Promise<void> {
    return this.mailboxes.deleteMailbox(account, name);
  }

  removeAllMailboxes(account: string): Promise<void> {
    return this.mailboxes.removeAllMailboxes(account);
  }

  // ---- usage (usage.ts) and blob references (blob-refs.ts) --------------------------------
  // Here and below: one-line hand-offs to the part that owns the call, alike on purpose.

  getUsage(account: string): Promise<number> {
    return this.usage.getUsage(account);
  }

  retainBlob(blobKey: string): Promise<void> {
    return this.blobRefs.retainBlob(blobKey);
  }

  releaseBlob(blobKey: string): Promise<void> {
    return this.blobRefs.releaseBlob(blobKey);
  }

  blobReferences(blobKey: string): Promise<number> {
    return this.blobRefs.blobReferences(blobKey);
  }

  // ---- filing (filing.ts) ----------------------------------------------------------------
  // One-line hand-offs, as above.

  fileMessage(request: FileRequest): Promise<FileResult> {
    return this.filing.fileMessage(request);
  }

  fileMessages(requests: readonly FileRequest[]): Promise<Array<PromiseSettledResult<FileResult>>> {
    return this.filing.fileMessages(requests);
  }

  // ---- messages (messages.ts) ------------------------------------------------------------

  listMessages(account: string, mailboxName: string, options: { fromUid?: number; toUid?: number; limit?: number } = {}): Promise<MessageItem[]> {
    return this.messages.listMessages(account, mailboxName, options);
  }

  listMessageStates(mailboxId: string, uidNext: number, options: { fromUid?: number } = {}): Promise<MessageState[]> {
    return this.messages.listMessageStates(mailboxId, uidNext, options);
  }

  listStateChanges(mailboxId: string, sinceModSeq: number): Promise<MessageState[]> {
    return this.messages.listStateChanges(mailboxId, sinceModSeq);
  }

  getMessages(mailboxId: string, uids: readonly number[]): Promise<MessageItem[]> {
    return this.messages.getMessages(mailboxId, uids);
  }

  setFlags(account: string, mailboxId: string, uids: readonly number[], change: FlagChange, options: { unchangedSince?: number } = {}): Promise<SetFlagsResult> {
    return this.messages.setFlags(account, mailboxId, uids, change, options);
  }

  expunge(account: string, mailboxId: string, uids: readonly number[]): Promise<number[]> {
    return this.messages.expunge(account, mailboxId, uids);
  }
}
