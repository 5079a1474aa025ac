// `cdk deploy` after `cdk destroy`: retained data (tables, buckets) stays behind with its names, so a
// new deploy either fails with "already exists" or adopts it. CloudFormation adopts a resource on
// `cdk deploy --import-existing-resources` only when its name is a static string in the template and
// its DeletionPolicy is Retain ("Import AWS resources into a CloudFormation stack automatically").
// Every retained resource that holds mail must qualify, and the README must say how.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../infra/app.ts';
import { ALL_PRESENT, synth, TEST_CONTEXT } from './synth.ts';

/** The property that names a resource of this type (its CloudFormation "Name type"). */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SQS::Queue': 'QueueName',
};
/** Resource types whose retained copies hold mail or its metadata. */
const HOLDS_MAIL = new Set(['AWS::DynamoDB::Table', 'AWS::S3::Bucket']);

/** The stack as `cdk deploy` synthesises it: the CLI sets the account and region from the credentials. */
function deployedTemplate() {
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  process.env.CDK_DEFAULT_ACCOUNT = '111122223333';
  process.env.CDK_DEFAULT_REGION = 'eu-west-1';
  try {
    return synth(ALL_PRESENT, TEST_CONTEXT).json;
  } finally {
    for (const [k, v] of [['CDK_DEFAULT_ACCOUNT', saved.account], ['CDK_DEFAULT_REGION', saved.region]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('deploying again after cdk destroy', () => {
  const json = deployedTemplate();
  const retained = Object.entries(json.Resources).filter(([, r]) => (r as { DeletionPolicy?: string }).DeletionPolicy === 'Retain');

  it('leaves every retained table and bucket with a static name CloudFormation can adopt', () => {
    const mail = retained.filter(([, r]) => HOLDS_MAIL.has(r.Type));
    assert.ok(mail.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').length >= 5 && mail.some(([, r]) => r.Type === 'AWS::S3::Bucket'), 'tables and the raw bucket are retained');
    for (const [id, r] of mail) {
      const name = r.Properties?.[NAME_PROPERTY[r.Type]!];
      assert.equal(typeof name, 'string', `${id} (${r.Type}) needs a static name to be adopted, has ${JSON.stringify(name)}`);
    }
    assert.ok(mail.some(([, r]) => /^mail-raw-111122223333-eu-west-1$/.test(r.Properties.BucketName)), 'the raw bucket is <prefix>-raw-<account>-<region>');
  });

  it('names no retained resource dynamically (a generated name cannot collide; a dynamic one cannot be adopted)', () => {
    for (const [id, r] of retained) {
      const name = r.Properties?.[NAME_PROPERTY[r.Type] ?? ''];
      assert.ok(name === undefined || typeof name === 'string', `${id} (${r.Type}): ${JSON.stringify(name)}`);
    }
  });

  it('is explained in infra/README.md: what remains, and the flag that adopts it', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'infra/README.md'), 'utf8');
    const teardown = readme.slice(readme.indexOf('## Tearing down'));
    assert.match(teardown, /cdk deploy --import-existing-resources/);
    assert.match(teardown, /already exists/);
  });
});
