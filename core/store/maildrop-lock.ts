// The POP3 maildrop lock (RFC 1939 §8: one session per maildrop): a lease item in the mailboxes
// table, shared by every server process, renewed by a heartbeat so a crashed holder's lock expires.
import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../config.ts';
import { addressKey } from '../addresses.ts';
import { isConditionFailure } from './dynamo.ts';
import { StoreError } from './types.ts';

/** A held lock; `renew` answers false once the lease was lost (expired and taken by someone else). */
export interface MaildropLease {
  readonly account: string;
  readonly owner: string;
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface MaildropLocks {
  /** The lease, or null while another live session holds the maildrop. */
  acquire(account: string): Promise<MaildropLease | null>;
}

export interface MaildropLockOptions {
  /** How long a lease lives without renewal; the holder renews well before (see leaseMs / 3). */
  readonly leaseMs?: number;
  /** Clock in epoch milliseconds (tests move it to expire a lease). */
  readonly now?: () => number;
}

/** Sort key of the lock item beside the account's `mbox#…` and `name#…` items. */
const LOCK_SK = 'lock#pop3';
/** The condition of renewing and releasing: the lease is still the one this session took (`:owner`). */
const HELD_BY_OWNER = { ConditionExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' } };

export class DynamoMaildropLocks implements MaildropLocks {
  readonly leaseMs: number;
  private readonly now: () => number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Pick<ResourceNames['tables'], 'mailboxes'>,
    options: MaildropLockOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async acquire(account: string): Promise<MaildropLease | null> {
    const pk = addressKey(account);
    if (!pk) throw new StoreError('invalid', 'Invalid account address');
    const owner = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.mailboxes,
          Item: { pk, sk: LOCK_SK, owner, leaseUntil: this.now() + this.leaseMs },
          // Free, or the previous holder stopped renewing (crashed task): its lease is over.
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
          ExpressionAttributeValues: { ':now': this.now() },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) return null;
      throw err;
    }
    return {
      account: pk,
      owner,
      renew: () => this.renew(pk, owner),
      release: () => this.release(pk, owner),
    };
  }

  private renew(pk: string, owner: string): Promise<boolean> {
    return this.whileOwner(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk, sk: LOCK_SK },
          UpdateExpression: 'SET leaseUntil = :until',
          ...HELD_BY_OWNER,
          ExpressionAttributeValues: { ':owner': owner, ':until': this.now() + this.leaseMs },
        }),
      ),
    );
  }

  /** Deletes the lock only if still ours, so a late release never frees someone else's session. */
  private async release(pk: string, owner: string): Promise<void> {
    await this.whileOwner(() =>
      this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk, sk: LOCK_SK }, ...HELD_BY_OWNER, ExpressionAttributeValues: { ':owner': owner } })),
    );
  }

  /** A write of the lock on HELD_BY_OWNER's condition: false when the lease is someone else's now. */
  private async whileOwner(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
