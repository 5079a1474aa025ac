// DKIM signing keys in the directory table: one item per domain, pk `dkim#<domain>`, sk `dkim`.
// No `domain` attribute, so the keys stay out of the byDomain index (accounts and aliases).
import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DkimKey } from '../dkim.ts';
import { normaliseDomain } from '../addresses.ts';
import { isConditionFailure, scanAll } from './dynamo.ts';
import { StoreError } from './types.ts';

const dkimPk = (domain: string) => `dkim#${domain}`;
const SK = 'dkim';

function requireDomain(name: string): string {
  const domain = normaliseDomain(name);
  if (!domain) throw new StoreError('invalid', `invalid domain '${name}'`);
  return domain;
}

function toKey(item: Record<string, unknown>): DkimKey {
  return {
    domain: item.signingDomain as string,
    selector: item.selector as string,
    algorithm: 'rsa-sha256',
    privateKeyPem: item.privateKeyPem as string,
    publicRecord: item.publicRecord as string,
    createdAt: item.createdAt as string,
  };
}

export class DkimKeyStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly directoryTable: string,
  ) {}

  /** Stores the key; refuses (exists) to replace one unless `replace`, so a published key is not lost by accident. */
  async put(key: DkimKey, options: { replace?: boolean } = {}): Promise<void> {
    const domain = requireDomain(key.domain);
    try {
      await this.doc.send(new PutCommand({
        TableName: this.directoryTable,
        Item: {
          pk: dkimPk(domain), sk: SK, signingDomain: domain, selector: key.selector, algorithm: key.algorithm,
          privateKeyPem: key.privateKeyPem, publicRecord: key.publicRecord, createdAt: key.createdAt,
        },
        ...(options.replace ? {} : { ConditionExpression: 'attribute_not_exists(pk)' }),
      }));
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('exists', `a DKIM key for ${domain} already exists`);
      throw err;
    }
  }

  async get(domain: string): Promise<DkimKey | null> {
    const got = await this.doc.send(new GetCommand({ TableName: this.directoryTable, Key: { pk: dkimPk(requireDomain(domain)), sk: SK } }));
    return got.Item ? toKey(got.Item) : null;
  }

  async remove(domain: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.directoryTable, Key: { pk: dkimPk(requireDomain(domain)), sk: SK }, ConditionExpression: 'attribute_exists(pk)',
      }));
    } catch (err) {
      if (isConditionFailure(err)) throw new StoreError('not-found', `No DKIM key for ${domain}`);
      throw err;
    }
  }

  /** Every key (a scan: an admin operation on a small table). */
  async list(): Promise<DkimKey[]> {
    const items = await scanAll(this.doc, { TableName: this.directoryTable, FilterExpression: 'sk = :sk', ExpressionAttributeValues: { ':sk': SK } });
    return items.map(toKey).sort((a, b) => a.domain.localeCompare(b.domain));
  }
}
