// mailctl's reading of a deployed stack's outputs in the form infra/ writes (one output per
// MAIL_* variable), so the two cannot drift apart unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreConfigToEnv, outputKeyForEnv, type CoreConfig } from '../../core/config.ts';
import { configFromStackOutputs, TargetError } from '../../cli/target.ts';

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

test("infra's one-output-per-variable form is read back whole, with the asked region and no endpoint overrides", () => {
  const env = { ...coreConfigToEnv(deployed), MAIL_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' };
  const outputs = new Map(Object.entries(env).map(([name, value]) => [outputKeyForEnv(name), value]));
  outputs.set('LoadBalancerDnsName', 'lb.example');
  const config = configFromStackOutputs('mail', 'eu-west-1', outputs);
  assert.deepEqual(config.resources, deployed.resources);
  assert.deepEqual(config.mail, deployed.mail);
  assert.equal(config.aws.endpoints.dynamodb, undefined);
});

test('a stack without the mail outputs is refused in one error that names what is missing', () => {
  const env = coreConfigToEnv(deployed);
  const outputs = new Map(Object.entries(env).map(([name, value]) => [outputKeyForEnv(name), value]));
  outputs.delete(outputKeyForEnv('MAIL_TABLE_MESSAGES'));
  assert.throws(
    () => configFromStackOutputs('mail', 'eu-west-1', outputs),
    (err: unknown) => err instanceof TargetError && err.message === 'stack mail lacks the outputs MailTableMessages (is it a stack deployed from infra/?)',
  );
  assert.throws(() => configFromStackOutputs('other', 'eu-west-1', new Map([['BucketName', 'b-raw']])), TargetError);
});
