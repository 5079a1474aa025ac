// The AWS resources every service shares, defined once: infra/ turns them into
// CloudFormation, local/ creates them in the emulators, so the two cannot drift.

export type KeyType = 'S' | 'N';
export interface KeyAttribute { readonly name: string; readonly type: KeyType }
/** Which attributes an index copies: all (the default), its keys only, or its keys plus some. */
export type IndexProjection =
  | { readonly type: 'ALL' }
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly attributes: readonly string[] };
export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Absent means ALL. */
  readonly projection?: IndexProjection;
}
export interface TableDefinition {
  /** Logical id in CDK and the suffix of the physical name (`<prefix>-<id>`). */
  readonly id: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalIndexes: readonly IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, for DynamoDB TTL. */
  readonly ttlAttribute?: string;
}

/**
 * directory: domains, accounts, aliases.
 *   pk `domain#<domain>`   sk `domain`
 *   pk `account#<address>` sk `account`
 *   pk `alias#<address>`   sk `alias`  (catch-all: `alias#@<domain>`)
 *   pk `sent#<address>`    sk `hour#<YYYY-MM-DDTHH>`  submission counter, expires through `expiresAt`
 *   GSI byDomain (domain, pk) lists everything of one domain.
 * mailboxes: per account, pk = account address.
 *   sk `mbox#<mailboxId>`  the mailbox state (name, uidValidity, uidNext, highestModSeq)
 *   sk `name#<name>`       uniqueness claim of a name, pointing at the mailbox id
 * messages: pk mailboxId, sk uid (number). Expunged messages stay as tombstones
 *   (so a UID is never reused) and expire through `expiresAt`.
 *   GSI byModSeq (mailboxId, modSeq) with only the state fields: "what changed since modseq M"
 *   (flag changes, tombstones) for IMAP resynchronisation (RFC 7162 §3.1). Sparse: a new message
 *   carries `createdModSeq` and gets `modSeq` at its first change (core/store/records.ts).
 * deliveries: outbound queue records and junk verdicts, expire through `expiresAt`.
 * blobrefs: reference counts of raw blobs, pk blobKey, with the delivery claims of the blob's
 *   inbound deliveries (core/store/delivery-claims.ts).
 */
export const TABLES = {
  directory: {
    id: 'directory',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [
      { indexName: 'byDomain', partitionKey: { name: 'domain', type: 'S' }, sortKey: { name: 'pk', type: 'S' } },
    ],
    // Hourly submission counters (`sent#<account>`) expire; nothing else here sets it.
    ttlAttribute: 'expiresAt',
  },
  mailboxes: {
    id: 'mailboxes',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalIndexes: [],
  },
  messages: {
    id: 'messages',
    partitionKey: { name: 'mailboxId', type: 'S' },
    sortKey: { name: 'uid', type: 'N' },
    globalIndexes: [
      {
        indexName: 'byModSeq',
        partitionKey: { name: 'mailboxId', type: 'S' },
        sortKey: { name: 'modSeq', type: 'N' },
        // The MessageState fields; never the MIME index, so a change query stays a few bytes per message.
        projection: { type: 'INCLUDE', attributes: ['flags', 'expunged', 'size', 'internalDate'] },
      },
    ],
    ttlAttribute: 'expiresAt',
  },
  deliveries: {
    id: 'deliveries',
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [],
    ttlAttribute: 'expiresAt',
  },
  blobrefs: {
    id: 'blobrefs',
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [],
  },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export interface QueueDefinition {
  readonly id: string;
  /** Seconds; must be >= 6x the consuming function's timeout (AWS guidance). */
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  /** Receives before a message is moved to `<id>-dlq`. */
  readonly maxReceiveCount: number;
  readonly dlqRetentionSeconds: number;
}

// A table of data: the two queues' entries are alike in shape on purpose, one per queue, each
// read by infra/ and local/ alike.
export const QUEUES = {
  inbound: {
    id: 'inbound',
    visibilityTimeoutSeconds: 360,
    retentionSeconds: 4 * 24 * 3600,
    maxReceiveCount: 5,
    dlqRetentionSeconds: 14 * 24 * 3600,
  },
  outbound: {
    id: 'outbound',
    visibilityTimeoutSeconds: 900,
    // The relay re-enqueues a fresh message for each retry, so one copy never waits long;
    // shorter than the DLQ's retention because SQS keeps the original enqueue time on redrive.
    retentionSeconds: 7 * 24 * 3600,
    maxReceiveCount: 10,
    dlqRetentionSeconds: 14 * 24 * 3600,
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueName = keyof typeof QUEUES;

export const BUCKET = {
  id: 'raw',
  /** Prefix of raw messages: `raw/YYYY/MM/DD/<id>.eml`. */
  rawPrefix: 'raw/',
  /** Tag put on a blob when its last reference goes; the lifecycle rule expires tagged blobs. */
  orphanTag: { key: 'mail-orphan', value: 'true' },
  /** Days an orphaned blob stays (the undelete window). */
  orphanGraceDays: 30,
} as const;

/**
 * Lambda settings of the queue consumers. Each queue's visibility timeout is written out in QUEUES
 * and must be at least 6x its consumer's timeout (AWS's advice; infra/constructs/queues.ts refuses less).
 */
export const FUNCTIONS = {
  inbound: { timeoutSeconds: 60, batchSize: 10, maxBatchingWindowSeconds: 1 },
  relay: { timeoutSeconds: 150, batchSize: 5, maxBatchingWindowSeconds: 0 },
} as const;

/** Physical names of resources for a deployment prefix, e.g. `mail-directory`. */
export function physicalTableName(prefix: string, table: TableName): string {
  return `${prefix}-${TABLES[table].id}`;
}
export function physicalQueueName(prefix: string, queue: QueueName, dlq = false): string {
  return `${prefix}-${QUEUES[queue].id}${dlq ? '-dlq' : ''}`;
}

/**
 * CloudWatch metrics that alarms watch, written once for the function that emits them (Powertools
 * EMF: the namespace, and the `service` dimension it adds to every metric) and for the alarm.
 */
export const METRICS = {
  namespace: 'Mail',
  relay: {
    service: 'mail-relay',
    /** SMTP sessions (one per host tried) that ended before the host answered for the message. */
    attemptsFailed: 'AttemptsFailed',
  },
} as const;
