// The directory over DynamoDB: domains, accounts (scrypt hashes), aliases with catch-all, and
// the recipient resolution the SMTP edge and the inbound handler route mail by.
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../config.ts';
import { addressKey, normaliseDomain, parseAddress } from '../addresses.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import type { VerifiedCredentialCache } from '../verified-credentials.ts';
import { hourWindowExpiry, type SubmissionCounter } from '../sending-limits.ts';
import { DEFAULT_MAILBOXES } from './mailbox-names.ts';
import { batchGetAll, isConditionFailure, queryAll, scanAll } from './dynamo.ts';
import type { DynamoMailStore } from './mailstore.ts';
import { removeJunkItems } from './junk-model.ts';
import { INBOUND_ACTIONS, INBOUND_POLICY_KEYS, type InboundPolicy } from '../authentication/policy.ts';
import { StoreError, type Account, type Alias, type Directory, type Domain, type QuotaUsage, type RecipientRoute } from './types.ts';

type Tables = ResourceNames['tables'];
type Item = Record<string, unknown>;

/** Alias chains longer than this are cut off (they are almost surely loops or mistakes). */
export const MAX_ALIAS_DEPTH = 5;
const MAX_ALIAS_TARGETS = 100;
const MAX_PASSWORD = 1024;

const domainPk = (domain: string) => `domain#${domain}`;
const accountPk = (address: string) => `account#${address}`;
const aliasPk = (address: string) => `alias#${address}`;
/** Submission counter of an account: pk `sent#<account>`, sk `hour#<YYYY-MM-DDTHH>` (core/sending-limits.ts). */
const sentPk = (address: string) => `sent#${address}`;

function requireDomain(name: string): string {
  const domain = normaliseDomain(name);
  if (!domain) throw new StoreError('invalid', `Invalid domain: ${name}`);
  return domain;
}

function requireAddress(input: string): string {
  const key = addressKey(input);
  if (!key) throw new StoreError('invalid', `Invalid address: ${input}`);
  return key;
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD) {
    throw new StoreError('invalid', 'Password must be 1 to 1024 characters');
  }
}

function checkQuota(quotaBytes: number | null): void {
  if (quotaBytes !== null && !(Number.isSafeInteger(quotaBytes) && quotaBytes >= 0)) throw new StoreError('invalid', 'Quota must be a whole number of bytes');
}

/** An alias address in key form: `name@domain`, or `@domain` for the catch-all. */
function aliasKey(input: string): { key: string; domain: string } {
  const trimmed = input.trim();
  if (trimmed.startsWith('@')) {
    const domain = requireDomain(trimmed.slice(1));
    return { key: `@${domain}`, domain };
  }
  const key = requireAddress(trimmed);
  return { key, domain: key.slice(key.lastIndexOf('@') + 1) };
}

const domainOf = (key: string) => key.slice(key.lastIndexOf('@') + 1);

function toAccount(item: Item): Account {
  return {
    address: item.address as string,
    domain: item.domain as string,
    createdAt: item.createdAt as string,
    quotaBytes: (item.quotaBytes as number | null | undefined) ?? null,
    sendAsDomains: (item.sendAsDomains as string[] | undefined) ?? [],
  };
}

function toDomain(item: Item): Domain {
  const inboundPolicy = item.inboundPolicy as Partial<InboundPolicy> | undefined;
  return {
    name: item.name as string, createdAt: item.createdAt as string, postmaster: (item.postmaster as string | undefined) ?? null,
    ...(inboundPolicy ? { inboundPolicy } : {}),
  };
}

/** RFC 5321 §4.5.1: "postmaster" is a case-insensitive local name every local domain must take. */
const isPostmaster = (key: string) => key.slice(0, key.lastIndexOf('@')) === 'postmaster';

function toAlias(item: Item): Alias {
  return { address: item.address as string, domain: item.domain as string, targets: item.targets as string[] };
}

/** What the directory holds for one address (DynamoDirectory.lookupMany). */
interface Lookup {
  readonly local: boolean;
  readonly postmaster: string | null;
  readonly account: boolean;
  readonly alias: Item | null;
  readonly catchAll: Item | null;
}

export class DynamoDirectory implements Directory, SubmissionCounter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    /** Creates and removes the mailboxes that come and go with accounts. */
    private readonly mailStore: DynamoMailStore,
    /** Logins verified recently (core/verified-credentials.ts); without it every login runs scrypt. */
    private readonly verifiedCredentials: VerifiedCredentialCache | null = null,
  ) {}

  private async get(pk: string, sk: string): Promise<Item | null> {
    const got = await this.doc.send(new GetCommand({ TableName: this.tables.directory, Key: { pk, sk }, ConsistentRead: true }));
    return got.Item ?? null;
  }

  private async putNew(item: Item, what: string): Promise<void> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tables.directory, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('exists', `${what} already exists`);
      throw err;
    }
  }

  private async deleteExisting(pk: string, sk: string, what: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.tables.directory, Key: { pk, sk }, ConditionExpression: 'attribute_exists(pk)' }));
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No such ${what}`);
      throw err;
    }
  }

  private scanKind(sk: string): Promise<Item[]> {
    return scanAll(this.doc, { TableName: this.tables.directory, FilterExpression: 'sk = :sk', ExpressionAttributeValues: { ':sk': sk } });
  }

  /** Accounts and aliases of a domain through the byDomain index (domain items are not in it). */
  private queryDomain(domain: string, prefix: string, limit?: number): Promise<Item[]> {
    return queryAll(
      this.doc,
      {
        TableName: this.tables.directory,
        IndexName: 'byDomain',
        // DynamoDB refuses an empty string even in begins_with on a key, so no prefix means no condition.
        KeyConditionExpression: prefix ? '#domain = :d AND begins_with(pk, :prefix)' : '#domain = :d',
        ExpressionAttributeNames: { '#domain': 'domain' },
        ExpressionAttributeValues: { ':d': domain, ...(prefix ? { ':prefix': prefix } : {}) },
        ...(limit ? { Limit: limit } : {}),
      },
      limit,
    );
  }

  // ---- domains ---------------------------------------------------------------------------

  async addDomain(name: string): Promise<Domain> {
    const domain = requireDomain(name);
    const item = { pk: domainPk(domain), sk: 'domain', name: domain, createdAt: new Date().toISOString() };
    await this.putNew(item, `Domain ${domain}`);
    return { name: domain, createdAt: item.createdAt, postmaster: null };
  }

  /**
   * A local target must exist (like an alias target), so postmaster mail is never dropped by a
   * typo; null gives the role back to the domain's oldest account.
   */
  async setPostmaster(name: string, address: string | null): Promise<Domain> {
    const domain = requireDomain(name);
    let target: string | null = null;
    if (address === null) {
      target = (await this.oldestAccount(domain, null))?.address ?? null;
    } else {
      const parsed = parseAddress(address);
      if (!parsed) throw new StoreError('invalid', `Invalid address: ${address}`);
      target = addressKey(parsed.address)!;
      if (await this.isLocalDomain(parsed.domain)) {
        const exists = (await this.get(accountPk(target), 'account')) ?? (await this.get(aliasPk(target), 'alias'));
        if (!exists) throw new StoreError('invalid', `No local account or alias ${target}`);
      } else {
        target = parsed.address;
      }
    }
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.directory,
          Key: { pk: domainPk(domain), sk: 'domain' },
          UpdateExpression: target === null ? 'REMOVE postmaster' : 'SET postmaster = :p',
          ConditionExpression: 'attribute_exists(pk)',
          ...(target === null ? {} : { ExpressionAttributeValues: { ':p': target } }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toDomain(result.Attributes!);
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No such domain ${domain}`);
      throw err;
    }
  }

  /** The byDomain index is eventually consistent: an account added in the same instant may slip by. */
  async removeDomain(name: string): Promise<void> {
    const domain = requireDomain(name);
    if (!(await this.get(domainPk(domain), 'domain'))) throw new StoreError('not-found', `No such domain ${domain}`);
    if ((await this.queryDomain(domain, '', 1)).length > 0) {
      throw new StoreError('not-empty', `Domain ${domain} still has accounts or aliases`);
    }
    await this.deleteExisting(domainPk(domain), 'domain', `domain ${domain}`);
  }

  async getDomain(name: string): Promise<Domain | null> {
    const domain = normaliseDomain(name);
    const item = domain ? await this.get(domainPk(domain), 'domain') : null;
    return item ? toDomain(item) : null;
  }

  /** Sets each given inbound authentication setting on the domain item; the rest keep their values. */
  async setInboundPolicy(name: string, changes: Partial<InboundPolicy>): Promise<Domain> {
    const domain = requireDomain(name);
    const entries = INBOUND_POLICY_KEYS.filter((k) => changes[k] !== undefined).map((k) => [k, changes[k]!] as const);
    for (const [key, value] of entries) {
      if (!INBOUND_ACTIONS.includes(value)) throw new StoreError('invalid', `${key} must be one of ${INBOUND_ACTIONS.join(', ')}`);
    }
    const current = await this.getDomain(domain);
    if (!current) throw new StoreError('not-found', `No such domain ${domain}`);
    if (entries.length === 0) return current;
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.directory,
          Key: { pk: domainPk(domain), sk: 'domain' },
          UpdateExpression: 'SET inboundPolicy = :p',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':p': { ...current.inboundPolicy, ...Object.fromEntries(entries) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toDomain(result.Attributes!);
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No such domain ${domain}`);
      throw err;
    }
  }

  async listDomains(): Promise<Domain[]> {
    const items = await this.scanKind('domain');
    return items.map(toDomain).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async isLocalDomain(name: string): Promise<boolean> {
    const domain = normaliseDomain(name);
    return domain ? (await this.get(domainPk(domain), 'domain')) !== null : false;
  }

  // ---- accounts --------------------------------------------------------------------------

  /**
   * Mailboxes are made before the account item, so an account that exists always has them;
   * a crash in between leaves mailboxes that the next attempt adopts.
   */
  async addAccount(address: string, password: string, options: { quotaBytes?: number | null } = {}): Promise<Account> {
    const key = requireAddress(address);
    checkPassword(password);
    const quotaBytes = options.quotaBytes ?? null;
    checkQuota(quotaBytes);
    const domain = domainOf(key);
    if (!(await this.isLocalDomain(domain))) throw new StoreError('not-found', `No such domain ${domain}`);
    if (await this.get(accountPk(key), 'account')) throw new StoreError('exists', `Account ${key} already exists`);
    if (await this.get(aliasPk(key), 'alias')) throw new StoreError('exists', `${key} is already an alias`);
    const passwordHash = await hashPassword(password);
    for (const mailbox of DEFAULT_MAILBOXES) {
      await this.mailStore.createMailbox(key, mailbox.name, mailbox.specialUse).catch((err: unknown) => {
        if (!(err instanceof StoreError && err.code === 'exists')) throw err;
      });
    }
    const item = { pk: accountPk(key), sk: 'account', address: key, domain, createdAt: new Date().toISOString(), quotaBytes, passwordHash };
    await this.putNew(item, `Account ${key}`);
    await this.claimPostmaster(domain, key);
    return toAccount(item);
  }

  async setPassword(address: string, password: string): Promise<void> {
    const key = requireAddress(address);
    checkPassword(password);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.directory,
          Key: { pk: accountPk(key), sk: 'account' },
          UpdateExpression: 'SET passwordHash = :h',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':h': await hashPassword(password) },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No such account ${key}`);
      throw err;
    }
  }

  async verifyPassword(address: string, password: string): Promise<Account | null> {
    const key = addressKey(address);
    const item = key ? await this.get(accountPk(key), 'account') : null;
    const stored = (item?.passwordHash as string | undefined) ?? null;
    const ok = this.verifiedCredentials && key
      ? await this.verifiedCredentials.verify(key, String(password), stored)
      : await verifyPassword(String(password), stored);
    return ok && item ? toAccount(item) : null;
  }

  async getAccount(address: string): Promise<Account | null> {
    const key = addressKey(address);
    if (!key) return null;
    const item = await this.get(accountPk(key), 'account');
    return item ? toAccount(item) : null;
  }

  async quotaUsage(address: string): Promise<QuotaUsage | null> {
    const account = await this.getAccount(address);
    if (!account || account.quotaBytes === null) return null;
    return { quotaBytes: account.quotaBytes, usedBytes: await this.mailStore.getUsage(account.address) };
  }

  async setQuota(address: string, quotaBytes: number | null): Promise<Account> {
    const key = requireAddress(address);
    checkQuota(quotaBytes);
    return this.updateAccount(key, 'SET quotaBytes = :v', quotaBytes);
  }

  async setSendAsDomains(address: string, domains: readonly string[]): Promise<Account> {
    const key = requireAddress(address);
    return this.updateAccount(key, 'SET sendAsDomains = :v', [...new Set(domains.map(requireDomain))].sort());
  }

  /** One attribute of an existing account (`:v` in the expression), the account as it is after. */
  private async updateAccount(key: string, update: string, value: unknown): Promise<Account> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.directory,
          Key: { pk: accountPk(key), sk: 'account' },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':v': value },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toAccount(result.Attributes!);
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No such account ${key}`);
      throw err;
    }
  }

  async listAccounts(domain?: string): Promise<Account[]> {
    const items = domain === undefined ? await this.scanKind('account') : await this.queryDomain(requireDomain(domain), 'account#');
    return items.map(toAccount).sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  /** The account item goes first (logins and deliveries stop), then its mailboxes; a retry finishes a crashed removal. */
  async removeAccount(address: string): Promise<void> {
    const key = requireAddress(address);
    const existed = (await this.get(accountPk(key), 'account')) !== null;
    const mailboxes = await this.mailStore.listMailboxes(key);
    if (!existed && mailboxes.length === 0) throw new StoreError('not-found', `No such account ${key}`);
    if (existed) await this.doc.send(new DeleteCommand({ TableName: this.tables.directory, Key: { pk: accountPk(key), sk: 'account' } }));
    await this.handOverPostmaster(domainOf(key), key);
    await this.mailStore.removeAllMailboxes(key);
    await removeJunkItems(this.doc, this.tables.directory, key);
  }

  /**
   * RFC 5321 §4.5.1 needs someone to read postmaster@ every domain: the first account made in a
   * domain becomes its postmaster unless one is set already. Recorded on the domain item, so
   * routing reads it with the domain (no listing of accounts when mail arrives).
   */
  private async claimPostmaster(domain: string, account: string): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tables.directory,
        Key: { pk: domainPk(domain), sk: 'domain' },
        UpdateExpression: 'SET postmaster = :a',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(postmaster)',
        ExpressionAttributeValues: { ':a': account },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /** The domain's first account by creation (address breaks ties), leaving out `except`. */
  private async oldestAccount(domain: string, except: string | null): Promise<Account | undefined> {
    return (await this.listAccounts(domain))
      .filter((a) => a.address !== except)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.address.localeCompare(b.address))[0];
  }

  /** The postmaster's account is going: the domain's oldest remaining account takes over (none left: unset). */
  private async handOverPostmaster(domain: string, account: string): Promise<void> {
    const next = await this.oldestAccount(domain, account);
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.tables.directory,
        Key: { pk: domainPk(domain), sk: 'domain' },
        UpdateExpression: next ? 'SET postmaster = :next' : 'REMOVE postmaster',
        ConditionExpression: 'postmaster = :gone',
        ExpressionAttributeValues: { ':gone': account, ...(next ? { ':next': next.address } : {}) },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  // ---- aliases ---------------------------------------------------------------------------

  async addAlias(address: string, targets: string[]): Promise<Alias> {
    const { key, domain } = aliasKey(address);
    if (!(await this.isLocalDomain(domain))) throw new StoreError('not-found', `No such domain ${domain}`);
    if (!Array.isArray(targets) || targets.length === 0 || targets.length > MAX_ALIAS_TARGETS) {
      throw new StoreError('invalid', `An alias needs 1 to ${MAX_ALIAS_TARGETS} targets`);
    }
    const cleaned: string[] = [];
    const seen = new Set<string>();
    for (const target of targets) {
      const parsed = parseAddress(target);
      if (!parsed) throw new StoreError('invalid', `Invalid target address: ${target}`);
      const targetKey = addressKey(parsed.address)!;
      if (targetKey === key) throw new StoreError('invalid', 'An alias cannot point at itself');
      if (seen.has(targetKey)) continue;
      seen.add(targetKey);
      // A local target must exist now, so a typo is refused rather than silently dropping mail.
      if (await this.isLocalDomain(parsed.domain)) {
        const exists = (await this.get(accountPk(targetKey), 'account')) ?? (await this.get(aliasPk(targetKey), 'alias'));
        if (!exists) throw new StoreError('invalid', `No local account or alias ${targetKey}`);
        cleaned.push(targetKey);
      } else {
        cleaned.push(parsed.address);
      }
    }
    if (!key.startsWith('@') && (await this.get(accountPk(key), 'account'))) throw new StoreError('exists', `${key} is already an account`);
    const item = { pk: aliasPk(key), sk: 'alias', address: key, domain, targets: cleaned, createdAt: new Date().toISOString() };
    await this.putNew(item, `Alias ${key}`);
    return toAlias(item);
  }

  async removeAlias(address: string): Promise<void> {
    const { key } = aliasKey(address);
    await this.deleteExisting(aliasPk(key), 'alias', `alias ${key}`);
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const items = domain === undefined ? await this.scanKind('alias') : await this.queryDomain(requireDomain(domain), 'alias#');
    return items.map(toAlias).sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  // ---- submission counters ---------------------------------------------------------------

  /**
   * One atomic ADD per submission, so every edge task shares the count. The item carries no
   * `domain` (it stays out of byDomain) and an `expiresAt` for DynamoDB TTL.
   */
  async countSubmission(account: string, hourWindow: string): Promise<number> {
    const key = requireAddress(account);
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tables.directory,
        Key: { pk: sentPk(key), sk: `hour#${hourWindow}` },
        UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': hourWindowExpiry(hourWindow) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.count ?? 0);
  }

  // ---- routing ---------------------------------------------------------------------------

  /** The domain (with its postmaster setting), account, alias and catch-all items of an address. */
  private static lookupKeys(key: string): Item[] {
    const domain = domainOf(key);
    return [
      { pk: domainPk(domain), sk: 'domain' },
      { pk: accountPk(key), sk: 'account' },
      { pk: aliasPk(key), sk: 'alias' },
      { pk: aliasPk(`@${domain}`), sk: 'alias' },
    ];
  }

  /**
   * What the directory holds for each of `keys`, in one BatchGetItem for all of them (100 keys per
   * request), items shared by several addresses (their domain, its catch-all) asked once.
   */
  private async lookupMany(keys: readonly string[]): Promise<Map<string, Lookup>> {
    const wanted = new Map<string, Item>();
    for (const key of keys) for (const k of DynamoDirectory.lookupKeys(key)) wanted.set(k.pk as string, k);
    const found = await batchGetAll(this.doc, this.tables.directory, [...wanted.values()], { consistentRead: true, projection: 'pk, targets, postmaster' });
    const byPk = new Map(found.map((i) => [i.pk as string, i]));
    return new Map(
      keys.map((key) => {
        const [domain, account, alias, catchAll] = DynamoDirectory.lookupKeys(key).map((k) => k.pk as string);
        return [
          key,
          {
            local: byPk.has(domain!),
            postmaster: (byPk.get(domain!)?.postmaster as string | undefined) ?? null,
            account: byPk.has(account!),
            alias: byPk.get(alias!) ?? null,
            catchAll: byPk.get(catchAll!) ?? null,
          },
        ];
      }),
    );
  }

  /**
   * Exact account, then alias, then the domain's catch-all; alias targets are resolved the same
   * way up to MAX_ALIAS_DEPTH hops, loops and duplicates dropped, remote targets collected as forwards.
   */
  async resolveRecipient(address: string): Promise<RecipientRoute> {
    const [route] = await this.resolveKeys([requireAddress(address)]);
    return route!;
  }

  async resolveRecipients(addresses: readonly string[]): Promise<RecipientRoute[]> {
    const keys = addresses.map((a) => addressKey(a));
    const routes = await this.resolveKeys([...new Set(keys.filter((k): k is string => k !== null))]);
    const byKey = new Map([...new Set(keys.filter((k): k is string => k !== null))].map((k, i) => [k, routes[i]!]));
    return keys.map((key) => (key === null ? { kind: 'unknown-local' } : byKey.get(key)!));
  }

  /**
   * Resolves every key at once: each expansion is a walk of the alias graph, and the walks advance
   * together, one lookupMany per step, so a batch costs one round trip per level, not per address.
   * A walk's steps are generator yields of the keys it needs next.
   */
  private async resolveKeys(keys: readonly string[]): Promise<RecipientRoute[]> {
    const known = new Map<string, Lookup>();
    const walks = keys.map((key) => this.walk(key, known));
    const states = walks.map((w) => w.next());
    for (;;) {
      const needed = new Set<string>();
      for (const state of states) if (!state.done) for (const k of state.value) if (!known.has(k)) needed.add(k);
      if (needed.size === 0 && states.every((s) => s.done)) break;
      if (needed.size > 0) for (const [k, v] of await this.lookupMany([...needed])) known.set(k, v);
      states.forEach((state, i) => {
        if (!state.done) states[i] = walks[i]!.next();
      });
    }
    return states.map((s) => s.value as RecipientRoute);
  }

  /** One address's resolution; yields the keys whose lookups it needs before it can go on. */
  private *walk(key: string, known: Map<string, Lookup>): Generator<string[], RecipientRoute, void> {
    yield [key];
    const first = known.get(key)!;
    if (!first.local) return { kind: 'remote', domain: domainOf(key) };
    const accounts = new Set<string>();
    const forwards = new Map<string, string>();
    const visited = new Set<string>();
    function* expand(target: string, depth: number): Generator<string[], void, void> {
      const targetKey = addressKey(target);
      if (!targetKey || visited.has(targetKey) || depth > MAX_ALIAS_DEPTH) return;
      visited.add(targetKey);
      if (!known.has(targetKey)) yield [targetKey];
      const found = known.get(targetKey)!;
      if (!found.local) {
        forwards.set(targetKey, target);
        return;
      }
      if (found.account) {
        accounts.add(targetKey);
        return;
      }
      let targets = (found.alias?.targets as string[] | undefined) ?? null;
      // RFC 5321 §4.5.1: postmaster of a local domain takes mail even when nobody holds the name.
      const postmaster = !targets && isPostmaster(targetKey);
      if (postmaster && found.postmaster) {
        const reachedBefore = accounts.size + forwards.size;
        yield* expand(found.postmaster, depth + 1);
        if (accounts.size + forwards.size > reachedBefore) return;
        // The postmaster no longer reaches a mailbox (an alias or address that went away): the catch-all may.
      }
      if (!targets && found.catchAll) {
        // The catch-all is one alias: expanding it twice in one resolution would only repeat it.
        const catchAllKey = `@${domainOf(targetKey)}`;
        if (visited.has(catchAllKey)) return;
        visited.add(catchAllKey);
        targets = found.catchAll.targets as string[];
      }
      if (!targets) return;
      // All targets of this alias are looked up in one step before any is expanded.
      const next = targets.map((t) => addressKey(t)).filter((k): k is string => k !== null && !known.has(k));
      if (next.length > 0) yield next;
      for (const t of targets) yield* expand(t, depth + 1);
    }
    yield* expand(key, 0);
    if (accounts.size === 0 && forwards.size === 0) return { kind: 'unknown-local' };
    return { kind: 'local', accounts: [...accounts].sort(), forwards: [...forwards.values()] };
  }
}
