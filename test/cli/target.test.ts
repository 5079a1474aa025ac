// mailctl's reading of a deployed stack's outputs, in both the documented form and the form
// infra/ writes (one output per MAIL_* variable), so the two cannot drift apart unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreConfigToEnv, type CoreConfig } from '../../core/config.ts';
import { outputKeyForEnv } from '../../infra/environment.ts';
import { configFromStackOutputs, STACK_OUTPUTS, TargetError } from '../../cli/target.ts';

const queue = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
const deployed: CoreConfig = {
  aws: { region: 'eu-west-1', endpoints: {} },
  resources: {
    bucket: 'mail-raw-abc',
    tables: { directory: 'mail-directory', mailboxes: 'mail-mailboxes', messages: 'mail-messages', deliveries: 'mail-deliveries', blobrefs: 'mail-blobrefs' },
    queues: { inbound: queue('mail-inbound'), outbound: queue('mail-outbound') },
    deadLetterQueues: { inbound: queue('mail-inbound-dlq'), outbound: queue('mail-outbound-dlq') },
  },
  mail: { hostname: 'mx.example.org', maxMessageBytes: 30_000_000, maxRecipients: 50 },
};

test('the documented outputs give the resources of the stack', () => {
  const r = deployed.resources;
  const outputs = new Map<string, string>([
    [STACK_OUTPUTS.bucket, r.bucket],
    ...Object.entries(STACK_OUTPUTS.tables).map(([t, name]) => [name, r.tables[t as keyof typeof r.tables]] as [string, string]),
    ...Object.entries(STACK_OUTPUTS.queues).map(([q, name]) => [name, r.queues[q as keyof typeof r.queues]] as [string, string]),
    ...Object.entries(STACK_OUTPUTS.deadLetterQueues).map(([q, name]) => [name, r.deadLetterQueues[q as keyof typeof r.queues]] as [string, string]),
  ]);
  const config = configFromStackOutputs('mail', 'eu-west-1', outputs);
  assert.deepEqual(config.resources, deployed.resources);
  assert.equal(config.aws.region, 'eu-west-1');
  assert.deepEqual(config.aws.endpoints, {});
});

test("infra's one-output-per-variable form is read back whole, with the asked region and no endpoint overrides", () => {
  const env = { ...coreConfigToEnv(deployed), MAIL_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' };
  const outputs = new Map(Object.entries(env).map(([name, value]) => [outputKeyForEnv(name), value]));
  outputs.set('LoadBalancerDnsName', 'lb.example');
  const config = configFromStackOutputs('mail', 'eu-west-1', outputs);
  assert.deepEqual(config.resources, deployed.resources);
  assert.deepEqual(config.mail, deployed.mail);
  assert.equal(config.aws.endpoints.dynamodb, undefined);
});

test('missing outputs are named in one error', () => {
  assert.throws(
    () => configFromStackOutputs('mail', 'eu-west-1', new Map([['BucketName', 'b-raw']])),
    (err: unknown) => err instanceof TargetError && /lacks the outputs DirectoryTable, .*OutboundDlqUrl/.test(err.message),
  );
});
