// Mailboxes and their names (RFC 3501 §6.3): create, find, list, rename, delete, subscribe. A name is
// a claim item pointing at a mailbox item, so a rename or delete never leaves a name half-moved.
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DELIMITER, isInbox, normaliseMailboxName } from './mailbox-names.ts';
import { batchGetAll, isConditionFailure, queryAll } from './dynamo.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';
import type { DynamoUsageCounters } from './usage.ts';
import { accountKey, getItem, isLive, mailboxSk, nameSk, NO_MAILBOX, nowSeconds, toMailbox, UID_VALIDITY_SK, useSk, type Item, type Tables } from './records.ts';
import { StoreError, type Mailbox, type SpecialUse } from './types.ts';

/** What filing needs of a mailbox: whose it is, its id, and its uidNext as read (0: not read). */
export type FilingTarget = Pick<Mailbox, 'account' | 'id' | 'uidNext'>;

/** A mailbox to file into: the account's mailbox of `specialUse` when it has one, else `mailbox` by name. */
export interface FilingDestination {
  readonly account: string;
  readonly mailbox: string;
  readonly specialUse?: SpecialUse;
  /** The mailbox's id, when the caller has just resolved it: nothing is read (FileRequest.mailboxId). */
  readonly mailboxId?: string;
}

export class DynamoMailboxes {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    private readonly blobRefs: DynamoBlobReferences,
    private readonly usage: DynamoUsageCounters,
  ) {}


  /**
   * RFC 3501 §2.3.1.1: UIDVALIDITY must change whenever a name is reused for a new mailbox.
   * Seconds since the epoch, but strictly above the last value handed out for the account, so
   * delete + create within one second still gets a new value.
   */
  private async allocateUidValidity(account: string): Promise<number> {
    for (;;) {
      const got = await this.doc.send(new GetCommand({ TableName: this.tables.mailboxes, Key: { pk: account, sk: UID_VALIDITY_SK }, ConsistentRead: true }));
      const last = (got.Item?.last as number | undefined) ?? 0;
      const next = Math.max(nowSeconds(), last + 1);
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tables.mailboxes,
            Key: { pk: account, sk: UID_VALIDITY_SK },
            UpdateExpression: 'SET #last = :next',
            ConditionExpression: got.Item ? '#last = :last' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: { ':next': next, ...(got.Item ? { ':last': last } : {}) },
          }),
        );
        return next;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  /**
   * The mailbox item is written first and the name claim second: the claim is the commit point,
   * so a crash in between leaves only an unreachable mailbox item, never a name without a mailbox.
   */
  async createMailbox(account: string, name: string, specialUse: SpecialUse | null = null, options: { subscribed?: boolean } = {}): Promise<Mailbox> {
    const owner = accountKey(account);
    const mailboxName = normaliseMailboxName(name);
    const item: Item = {
      pk: owner,
      sk: mailboxSk(randomUUID()),
      name: mailboxName,
      uidValidity: await this.allocateUidValidity(owner),
      uidNext: 1,
      highestModSeq: 1,
      subscribed: options.subscribed ?? true,
      createdAt: new Date().toISOString(),
      ...(specialUse ? { specialUse } : {}),
    };
    item.id = (item.sk as string).slice('mbox#'.length);
    await this.doc.send(new PutCommand({ TableName: this.tables.mailboxes, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    if (!(await this.claimName(owner, mailboxName, item.id as string))) {
      await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: owner, sk: item.sk } }));
      throw new StoreError('exists', `Mailbox ${mailboxName} already exists`);
    }
    // After the name: a use claim never names a mailbox that cannot be reached. The first mailbox
    // of a use keeps the claim; another of the same use is found only once the first is gone.
    if (specialUse) await this.claim(owner, useSk(specialUse), item.id as string, (holder) => holder.specialUse === specialUse);
    return toMailbox(item);
  }

  /** Claims a name for a mailbox id; takes over a stale claim left by a crashed rename or delete. */
  private claimName(owner: string, name: string, mailboxId: string): Promise<boolean> {
    return this.claim(owner, nameSk(name), mailboxId, (holder) => holder.name === name);
  }

  /**
   * Points the claim item `sk` at a mailbox id, unless a mailbox that still `holds` it has it: a
   * claim whose mailbox is gone or no longer holds it (a crashed rename or delete, NO_MAILBOX) is taken over.
   */
  private async claim(owner: string, sk: string, mailboxId: string, holds: (holder: Item) => boolean): Promise<boolean> {
    const put = (condition: string, values?: Item) =>
      this.doc.send(
        new PutCommand({
          TableName: this.tables.mailboxes,
          Item: { pk: owner, sk, mailboxId },
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    try {
      await put('attribute_not_exists(pk)');
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const claim = await getItem(this.doc, this.tables.mailboxes, { pk: owner, sk });
    if (!claim) return this.claim(owner, sk, mailboxId, holds);
    const holder = await getItem(this.doc, this.tables.mailboxes, { pk: owner, sk: mailboxSk(claim.mailboxId as string) });
    if (holder && holds(holder)) return false;
    try {
      await put('mailboxId = :stale', { ':stale': claim.mailboxId });
      return true;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return false;
    }
  }


  async getMailbox(account: string, name: string): Promise<Mailbox | null> {
    const owner = accountKey(account);
    const mailboxName = normaliseMailboxName(name);
    const claim = await getItem(this.doc, this.tables.mailboxes, { pk: owner, sk: nameSk(mailboxName) });
    if (!claim) return null;
    const item = await getItem(this.doc, this.tables.mailboxes, { pk: owner, sk: mailboxSk(claim.mailboxId as string) });
    return item && item.name === mailboxName ? toMailbox(item) : null;
  }

  async getMailboxById(account: string, mailboxId: string): Promise<Mailbox | null> {
    const item = await getItem(this.doc, this.tables.mailboxes, { pk: accountKey(account), sk: mailboxSk(mailboxId) });
    return item ? toMailbox(item) : null;
  }

  /** Every item of an account in the mailboxes table: mailboxes, name claims and bookkeeping. */
  private itemsOf(owner: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.doc, {
      TableName: this.tables.mailboxes,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': owner },
      ConsistentRead: true,
    });
  }

  /** Mailboxes reachable through a name claim that agrees with the mailbox's own name. */
  async listMailboxes(account: string): Promise<Mailbox[]> {
    const owner = accountKey(account);
    const items = await this.itemsOf(owner);
    const byId = new Map(items.filter((i) => (i.sk as string).startsWith('mbox#')).map((i) => [i.id as string, i]));
    const mailboxes: Mailbox[] = [];
    for (const claim of items) {
      const sk = claim.sk as string;
      if (!sk.startsWith('name#')) continue;
      const item = byId.get(claim.mailboxId as string);
      if (item && item.name === sk.slice('name#'.length)) mailboxes.push(toMailbox(item));
    }
    return mailboxes.sort((a, b) => (isInbox(a.name) ? -1 : isInbox(b.name) ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async requireMailbox(account: string, name: string): Promise<Mailbox> {
    const mailbox = await this.getMailbox(account, name);
    if (!mailbox) throw new StoreError('not-found', `No mailbox ${name}`);
    return mailbox;
  }

  /**
   * The mailboxes to file into, settled each, in order. Every INBOX is found by its name claim
   * alone, all claims in one BatchGetItem: INBOX is never renamed or deleted on its own, so its
   * claim never names a mailbox of another name, and a claim outliving its mailbox (an account
   * removal that crashed) names a deleted item, which the UID reservation refuses as not-found, as
   * requireMailbox would have. uidNext is then unknown (0). Other names are read as requireMailbox reads them.
   * A destination by special use (Junk for a junk copy) is found by its use claim in the same
   * BatchGetItem, so it costs no request of its own (docs/decisions/0026-one-quarantine-path.md).
   * A mailbox whose id the caller gives (it has just resolved the name) is not read at all, for the
   * same reason as INBOX: a mailbox deleted since is refused by the UID reservation.
   */
  async mailboxesForFiling(wanted: readonly FilingDestination[]): Promise<Array<PromiseSettledResult<FilingTarget>>> {
    const parsed = wanted.map((w) => {
      try {
        return { owner: accountKey(w.account), name: normaliseMailboxName(w.mailbox), use: w.specialUse, id: w.mailboxId };
      } catch (err) {
        return err as Error;
      }
    });
    const claimKey = (pk: string, sk: string) => `${pk}\u0000${sk}`;
    const claimKeys = new Map<string, Item>();
    for (const p of parsed) {
      if (p instanceof Error || p.id) continue;
      if (isInbox(p.name)) claimKeys.set(claimKey(p.owner, nameSk(p.name)), { pk: p.owner, sk: nameSk(p.name) });
      if (p.use) claimKeys.set(claimKey(p.owner, useSk(p.use)), { pk: p.owner, sk: useSk(p.use) });
    }
    const found = await batchGetAll(this.doc, this.tables.mailboxes, [...claimKeys.values()], { consistentRead: true });
    const claims = new Map(found.map((c) => [claimKey(c.pk as string, c.sk as string), c]));
    return Promise.all(
      parsed.map(async (p): Promise<PromiseSettledResult<FilingTarget>> => {
        try {
          if (p instanceof Error) throw p;
          if (p.id) return { status: 'fulfilled', value: { account: p.owner, id: p.id, uidNext: 0 } };
          if (p.use) {
            const id = await this.specialUseMailboxId(p.owner, p.use, claims.get(claimKey(p.owner, useSk(p.use))));
            if (id) return { status: 'fulfilled', value: { account: p.owner, id, uidNext: 0 } };
          }
          if (!isInbox(p.name)) return { status: 'fulfilled', value: await this.requireMailbox(p.owner, p.name) };
          const claim = claims.get(claimKey(p.owner, nameSk(p.name)));
          if (!claim) throw new StoreError('not-found', `No mailbox ${p.name}`);
          return { status: 'fulfilled', value: { account: p.owner, id: claim.mailboxId as string, uidNext: 0 } };
        } catch (reason) {
          return { status: 'rejected', reason };
        }
      }),
    );
  }

  /**
   * The id of the account's mailbox of `use` as its claim names it (a claim outliving its mailbox
   * is refused by the UID reservation as not-found), or null when it has none. An account from
   * before use claims has no claim: its mailboxes are listed once and the claim written, naming
   * NO_MAILBOX when none has the use, so the next filing reads it with the INBOX claim.
   */
  private async specialUseMailboxId(owner: string, use: SpecialUse, claim: Item | undefined): Promise<string | null> {
    if (claim) return claim.mailboxId === NO_MAILBOX ? null : (claim.mailboxId as string);
    const mailboxes = await this.listMailboxes(owner);
    // No mailboxes, no account (removed after RCPT): nothing to claim in a partition that is gone.
    if (mailboxes.length === 0) return null;
    const mailbox = mailboxes.find((m) => m.specialUse === use);
    // An update, not a put: the inbound function's grants already hold it (for the UID reservation).
    await this.doc
      .send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: useSk(use) },
          UpdateExpression: 'SET mailboxId = :id',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeValues: { ':id': mailbox?.id ?? NO_MAILBOX },
        }),
      )
      // Taken meanwhile (a mailbox of that use created), or not written: the next filing reads or lists again.
      .catch(() => undefined);
    return mailbox?.id ?? null;
  }

  async subscribe(account: string, name: string, subscribed: boolean): Promise<void> {
    const mailbox = await this.requireMailbox(account, name);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: mailbox.account, sk: mailboxSk(mailbox.id) },
          UpdateExpression: 'SET subscribed = :s',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':s': subscribed },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No mailbox ${name}`);
      throw err;
    }
  }

  async renameMailbox(account: string, from: string, to: string): Promise<Mailbox> {
    const owner = accountKey(account);
    const oldName = normaliseMailboxName(from);
    const newName = normaliseMailboxName(to);
    // RFC 3501 §6.3.5 renaming INBOX moves its messages into a new mailbox; not supported yet.
    if (isInbox(oldName) || isInbox(newName)) throw new StoreError('invalid', 'Renaming INBOX is not supported');
    if (newName === oldName) throw new StoreError('exists', `Mailbox ${newName} already exists`);
    if (newName.startsWith(oldName + DELIMITER)) throw new StoreError('invalid', 'Cannot rename a mailbox into itself');
    const all = await this.listMailboxes(owner);
    const moving = all.filter((m) => m.name === oldName || m.name.startsWith(oldName + DELIMITER));
    if (!moving.some((m) => m.name === oldName)) throw new StoreError('not-found', `No mailbox ${oldName}`);
    const target = (name: string) => newName + name.slice(oldName.length);
    const taken = new Set(all.map((m) => m.name));
    if (moving.some((m) => taken.has(target(m.name)))) throw new StoreError('exists', `Mailbox ${newName} already exists`);
    for (const mailbox of moving) {
      const name = target(mailbox.name);
      if (!(await this.claimName(owner, name, mailbox.id))) throw new StoreError('exists', `Mailbox ${name} already exists`);
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk: mailboxSk(mailbox.id) },
          UpdateExpression: 'SET #name = :name',
          ExpressionAttributeNames: { '#name': 'name' },
          ExpressionAttributeValues: { ':name': name },
        }),
      );
      await this.release(owner, nameSk(mailbox.name), mailbox.id);
    }
    return (await this.getMailboxById(owner, moving.find((m) => m.name === oldName)!.id))!;
  }

  /** Removes the claim item `sk` if it still names `mailboxId`. */
  private async release(owner: string, sk: string, mailboxId: string): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.tables.mailboxes,
          Key: { pk: owner, sk },
          ConditionExpression: 'mailboxId = :id',
          ExpressionAttributeValues: { ':id': mailboxId },
        }),
      )
      .catch((err) => {
        if (!isConditionFailure(err)) throw err;
      });
  }

  async deleteMailbox(account: string, name: string): Promise<void> {
    const mailbox = await this.requireMailbox(account, name);
    if (isInbox(mailbox.name)) throw new StoreError('invalid', 'INBOX cannot be deleted');
    await this.destroyMailbox(mailbox);
  }

  /**
   * Name first (the mailbox vanishes from view), then the mailbox item (new filings now fail),
   * then the messages with their blob references.
   */
  private async destroyMailbox(mailbox: Pick<Mailbox, 'account' | 'id' | 'name' | 'specialUse'>): Promise<void> {
    await this.release(mailbox.account, nameSk(mailbox.name), mailbox.id);
    if (mailbox.specialUse) await this.release(mailbox.account, useSk(mailbox.specialUse), mailbox.id);
    await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: mailbox.account, sk: mailboxSk(mailbox.id) } }));
    const messages = await queryAll(this.doc, {
      TableName: this.tables.messages,
      KeyConditionExpression: 'mailboxId = :m',
      ExpressionAttributeValues: { ':m': mailbox.id },
      ProjectionExpression: 'mailboxId, uid, blobKey, expunged, #size',
      ExpressionAttributeNames: { '#size': 'size' },
      ConsistentRead: true,
    });
    const liveBytes = messages.filter(isLive).reduce((sum, m) => sum + ((m.size as number | undefined) ?? 0), 0);
    for (let i = 0; i < messages.length; i += 25) {
      const chunk = messages.slice(i, i + 25);
      let requests: unknown[] = chunk.map((m) => ({ DeleteRequest: { Key: { mailboxId: m.mailboxId, uid: m.uid } } }));
      while (requests.length) {
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tables.messages]: requests as never } }));
        requests = result.UnprocessedItems?.[this.tables.messages] ?? [];
      }
      // Independent counters (an ADD each, two copies of one blob included): released together.
      await Promise.all(chunk.filter(isLive).map((message) => this.blobRefs.releaseBlob(message.blobKey as string)));
    }
    if (liveBytes > 0) await this.usage.addUsage(mailbox.account, -liveBytes);
  }

  /** Removes every mailbox of an account and its bookkeeping (used when the account is removed). */
  async removeAllMailboxes(account: string): Promise<void> {
    const owner = accountKey(account);
    const items = await this.itemsOf(owner);
    for (const item of items) {
      if ((item.sk as string).startsWith('mbox#')) await this.destroyMailbox(toMailbox(item));
    }
    for (const item of items) {
      if (!(item.sk as string).startsWith('mbox#')) await this.doc.send(new DeleteCommand({ TableName: this.tables.mailboxes, Key: { pk: owner, sk: item.sk } }));
    }
  }
}
