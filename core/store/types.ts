// The contract of the mail store over DynamoDB: directory (domains, accounts, aliases),
// mailboxes with UIDVALIDITY/UIDNEXT, and messages. Implementations live beside this file.
import type { MessageIndex } from '../mime/types.ts';
import type { QuotaUsage } from './quota.ts';
import type { InboundPolicy } from '../authentication/policy.ts';
import type { RecentClaim } from './recent.ts';

export type { QuotaUsage } from './quota.ts';

export interface Domain {
  readonly name: string;
  readonly createdAt: string;
  /**
   * Where mail to postmaster@ this domain goes when no account or alias has that name
   * (RFC 5321 §4.5.1; see Directory.resolveRecipient): set by an administrator, else the first
   * account made in the domain (then the oldest remaining one when it is removed); null while
   * the domain has no accounts.
   */
  readonly postmaster: string | null;
  /**
   * What the MX does with mail to this domain that fails authentication, where an administrator
   * changed it (core/authentication/policy.ts has the defaults); absent = all defaults.
   */
  readonly inboundPolicy?: Partial<InboundPolicy>;
}

export interface Account {
  /** Key form: lowercased local part @ normalised domain. */
  readonly address: string;
  readonly domain: string;
  readonly createdAt: string;
  /** Storage quota in bytes, or null for none. */
  readonly quotaBytes: number | null;
  /**
   * Domains an administrator lets this account send as: any address of them may stand in its
   * From:, Sender: and MAIL FROM, besides its own address and the aliases that reach it.
   */
  readonly sendAsDomains: readonly string[];
}

export interface Alias {
  /** `name@domain`, or `@domain` for the catch-all of a domain. */
  readonly address: string;
  readonly domain: string;
  /** Account addresses (or other addresses) mail is delivered to. */
  readonly targets: string[];
}

/** Where mail for one envelope recipient goes. */
export type RecipientRoute =
  /**
   * Delivered here: to local `accounts` (key form, deduplicated) and, when an alias points
   * off-site, to `forwards` (remote addresses, for the relay). Either list may be empty, not both.
   */
  | { readonly kind: 'local'; readonly accounts: string[]; readonly forwards?: string[] }
  /** A local domain, but no account, alias or catch-all takes this address. */
  | { readonly kind: 'unknown-local' }
  /** Not one of our domains: relay (only for authenticated senders). */
  | { readonly kind: 'remote'; readonly domain: string };

/** Errors with a meaning callers act on (CLI messages, IMAP NO responses). */
export class StoreError extends Error {
  constructor(
    readonly code: 'not-found' | 'exists' | 'not-empty' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export interface Directory {
  addDomain(name: string): Promise<Domain>;
  /** Refuses (not-empty) while accounts or aliases of the domain exist. */
  removeDomain(name: string): Promise<void>;
  listDomains(): Promise<Domain[]>;
  isLocalDomain(name: string): Promise<boolean>;

  /** Creates the account, its INBOX and the special-use mailboxes (Sent, Drafts, Trash, Junk, Archive). */
  addAccount(address: string, password: string, options?: { quotaBytes?: number | null }): Promise<Account>;
  setPassword(address: string, password: string): Promise<void>;
  /** The account if the password matches, else null; takes the same time whether or not the account exists. */
  verifyPassword(address: string, password: string): Promise<Account | null>;
  getAccount(address: string): Promise<Account | null>;
  listAccounts(domain?: string): Promise<Account[]>;
  /** Removes the account and its mailboxes; blobs lose their references. */
  removeAccount(address: string): Promise<void>;

  addAlias(address: string, targets: string[]): Promise<Alias>;
  removeAlias(address: string): Promise<void>;
  listAliases(domain?: string): Promise<Alias[]>;

  /**
   * Account → alias → catch-all `@domain`, following alias chains to a bounded depth.
   * postmaster@ a local domain (any case) reaches someone (RFC 5321 §4.5.1): an account or alias
   * of that name, else the domain's postmaster (Domain.postmaster), else its catch-all.
   */
  resolveRecipient(address: string): Promise<RecipientRoute>;
  /**
   * resolveRecipient of each address, in order, with the lookups of all of them made together: one
   * round trip per level of alias expansion, not one per address. An address that is not one
   * (resolveRecipient's StoreError 'invalid') routes as unknown-local: it can never be delivered.
   */
  resolveRecipients(addresses: readonly string[]): Promise<RecipientRoute[]>;
  /** Sets where the domain's postmaster mail goes; null hands it back to the oldest account. */
  setPostmaster?(domain: string, address: string | null): Promise<Domain>;
  /** The local domain with its settings, or null when it is not one of ours. */
  getDomain?(name: string): Promise<Domain | null>;
  /** Changes some of the domain's inbound authentication settings; the others stay. */
  setInboundPolicy?(domain: string, changes: Partial<InboundPolicy>): Promise<Domain>;

  /**
   * The account's quota and usage (core/store/quota.ts); null when the account has no quota (or
   * does not exist), which costs no usage read.
   */
  quotaUsage(address: string): Promise<QuotaUsage | null>;
  /** Sets (bytes) or lifts (null) the account's quota. */
  setQuota?(address: string, quotaBytes: number | null): Promise<Account>;
  /** Replaces the domains the account may send as (Account.sendAsDomains); [] takes them all away. */
  setSendAsDomains?(address: string, domains: readonly string[]): Promise<Account>;
}

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive';

export interface Mailbox {
  readonly account: string;
  readonly id: string;
  /** Full name with `/` as hierarchy delimiter, in Unicode; `INBOX` is always spelled so. */
  readonly name: string;
  readonly uidValidity: number;
  /** The next UID to be assigned; messages with uid < uidNext are visible. */
  readonly uidNext: number;
  readonly highestModSeq: number;
  readonly subscribed: boolean;
  readonly specialUse: SpecialUse | null;
  /** RFC 3501 §2.3.2: UIDs at or above this are \Recent to the next session that claims them (core/store/recent.ts); absent: 1. */
  readonly recentUpTo?: number;
}

export interface MessageItem {
  readonly mailboxId: string;
  readonly uid: number;
  readonly blobKey: string;
  /** Octets of the message as served: the header prefix's and the blob's. */
  readonly size: number;
  /** ISO 8601 internal date. */
  readonly internalDate: string;
  readonly flags: string[];
  readonly modSeq: number;
  readonly index: MessageIndex;
  /** Set on expunged messages, which remain as tombstones so their UID is never reused. */
  readonly expunged: boolean;
  /** When the item was written into this mailbox (RFC 8514 save date); null on items stored without one. */
  readonly savedAt?: string | null;
  /**
   * Header lines of this copy alone, served before the blob (core/header-prefix.ts); `index`
   * stays relative to the blob. Absent on most items.
   */
  readonly headerPrefix?: string | null;
}

export interface FileRequest {
  readonly account: string;
  /** Mailbox name, usually 'INBOX'. */
  readonly mailbox: string;
  /** The account's mailbox of this special use (RFC 6154) instead, whatever it is named; `mailbox` when it has none. */
  readonly specialUse?: SpecialUse;
  /**
   * The mailbox's id, when the caller has just resolved the name (APPEND, COPY): filing then skips
   * the lookup. A mailbox deleted since is refused as not-found all the same (the UID reservation).
   */
  readonly mailboxId?: string;
  /** Idempotency key: the same key filed twice into one mailbox gives one message. */
  readonly deliveryKey: string;
  readonly blobKey: string;
  /** Octets as served: headerPrefix's and the blob's. */
  readonly size: number;
  readonly internalDate: string;
  readonly flags: string[];
  readonly index: MessageIndex;
  /** This copy's own header lines (core/header-prefix.ts), kept by COPY and MOVE. */
  readonly headerPrefix?: string | null;
  /**
   * The delivery key was made for this call and is never filed again (COPY, MOVE): no delivery
   * claim is kept for it, only the blob reference is counted (core/store/delivery-claims.ts).
   */
  readonly freshKey?: boolean;
}

export interface FileResult {
  readonly mailboxId: string;
  readonly uid: number;
  /** True when this delivery key had already been filed (a redelivery). */
  readonly duplicate: boolean;
}

export interface MailStore {
  /** Subscribed unless `subscribed: false` (IMAP CREATE does not subscribe, RFC 3501 §6.3.3). */
  createMailbox(account: string, name: string, specialUse?: SpecialUse | null, options?: { subscribed?: boolean }): Promise<Mailbox>;
  getMailbox(account: string, name: string): Promise<Mailbox | null>;
  listMailboxes(account: string): Promise<Mailbox[]>;

  /**
   * Files one message (invariants 2 and 3 of docs/ARCHITECTURE.md): idempotent per deliveryKey and
   * mailbox; UIDs strictly ascending and never reused; no UID visible before its predecessor.
   */
  fileMessage(request: FileRequest): Promise<FileResult>;
  /**
   * fileMessage of each request, settled per request in the order given, with the round trips of
   * requests for one mailbox shared (docs/decisions/0019-batch-uid-allocation.md).
   */
  fileMessages(requests: readonly FileRequest[]): Promise<Array<PromiseSettledResult<FileResult>>>;

  /** Visible messages (uid < uidNext, not expunged) in UID order; `fromUid` and `toUid` inclusive. */
  listMessages(account: string, mailbox: string, options?: { fromUid?: number; toUid?: number; limit?: number }): Promise<MessageItem[]>;

  /** Bytes the account's live messages take (the quota's usage), counted as they are filed and expunged. */
  getUsage(account: string): Promise<number>;
}

/** A change to the flags of messages (RFC 3501 §6.4.6 STORE: FLAGS, +FLAGS, -FLAGS). */
export interface FlagChange {
  readonly op: 'replace' | 'add' | 'remove';
  readonly flags: string[];
}

export interface SetFlagsResult {
  /** Messages whose flags changed, each with its new mod-sequence (RFC 7162 §3.1). */
  readonly updated: Array<{ readonly uid: number; readonly flags: string[]; readonly modSeq: number }>;
  /** UIDs left alone because their modSeq exceeded UNCHANGEDSINCE (RFC 7162 §3.1.3, the MODIFIED list). */
  readonly modified: number[];
}

/** What a session needs to keep its view of a mailbox in step: no MIME index, no blob key. */
export interface MessageState {
  readonly uid: number;
  readonly flags: string[];
  readonly modSeq: number;
  readonly size: number;
  /** ISO 8601 internal date. */
  readonly internalDate: string;
  /** Tombstone of an expunged message. */
  readonly expunged: boolean;
}

/** The operations IMAP needs beyond filing and listing. */
export interface MessageStore extends MailStore {
  getMailboxById(account: string, mailboxId: string): Promise<Mailbox | null>;
  /** RFC 3501 §6.3.5: renames the mailbox and its inferiors; keeps ids and UIDVALIDITY. */
  renameMailbox(account: string, from: string, to: string): Promise<Mailbox>;
  /** RFC 3501 §6.3.4: removes the mailbox and its messages (not its inferiors); INBOX cannot be deleted. */
  deleteMailbox(account: string, name: string): Promise<void>;
  /**
   * RFC 3501 §2.3.2: makes this caller the one session for which the UIDs from the mailbox's
   * recentUpTo up to `upTo` (exclusive) are \Recent; returns that range, empty when taken already.
   * Optional: a store without it has no \Recent messages.
   */
  claimRecent?(account: string, mailboxId: string, upTo: number): Promise<RecentClaim>;
  /** RFC 3501 §6.3.6/§6.3.7 SUBSCRIBE/UNSUBSCRIBE. */
  subscribe(account: string, name: string, subscribed: boolean): Promise<void>;
  /**
   * The state of every UID below `uidNext` (read the mailbox item first, so the answer is a
   * gap-free prefix), tombstones included, in UID order; `fromUid` inclusive. A projection:
   * it reads no MIME index, so a session can resynchronise a large mailbox cheaply.
   */
  listMessageStates(mailboxId: string, uidNext: number, options?: { fromUid?: number }): Promise<MessageState[]>;
  /**
   * Changes to filed messages (flag changes, tombstones) whose modSeq is above `sinceModSeq`, in
   * modSeq order, from the byModSeq index. A message unchanged since it was filed is not there
   * (the index is sparse: core/store/records.ts): new messages are read by UID range above the
   * uidNext a reader knows (listMessageStates). Eventually consistent: a change already counted in
   * the mailbox's highestModSeq may be missing for a while (see core/store/resync.ts
   * for how a reader copes), and a message changed twice shows only its latest state. UIDs at or
   * above the mailbox's uidNext may appear; callers leave them out.
   */
  listStateChanges(mailboxId: string, sinceModSeq: number): Promise<MessageState[]>;
  /** The live messages among `uids`, in UID order; missing and expunged UIDs are left out. */
  getMessages(mailboxId: string, uids: readonly number[]): Promise<MessageItem[]>;
  setFlags(account: string, mailboxId: string, uids: readonly number[], change: FlagChange, options?: { unchangedSince?: number }): Promise<SetFlagsResult>;
  /** Turns the messages into tombstones (their UIDs stay taken) and drops their blob references; returns the UIDs expunged now. */
  expunge(account: string, mailboxId: string, uids: readonly number[]): Promise<number[]>;
}
