// The settings reach the services under the names they read: the relay's environment, parsed by
// the relay's own reader (functions/relay/config.ts), and the edge's SUBMISSION_* variables.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { relayConfigFromEnv } from '../../functions/relay/config.ts';
import { REPO_ROOT } from '../../infra/app.ts';
import { relayEnvironment } from '../../infra/mail-stack.ts';
import { EDGE_ENV, MAILBOX_ENV, MAILBOX_IDLE_KEEPALIVE_SECONDS, RELAY_ENV } from '../../infra/service-contract.ts';
import { settingsFromContext } from '../../infra/settings.ts';
import { fullStack, TEST_CONTEXT } from './synth.ts';

const { json, stack } = fullStack();
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;
const settingsOf = (overrides: Record<string, unknown>) => settingsFromContext((k) => ({ ...TEST_CONTEXT, ...overrides } as Record<string, unknown>)[k]);

/** A function's environment with CloudFormation references replaced by a stand-in string, as Lambda would see them resolved. */
function resolvedEnv(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved:${k}`]));
}

describe('relay environment', () => {
  const variables = json.Resources[logicalId(stack.relay!.function)]!.Properties.Environment.Variables as Record<string, unknown>;

  it('carries the retry schedule and the smarthost from context, and the relay reads them back', () => {
    const config = relayConfigFromEnv(resolvedEnv(variables));
    assert.deepEqual(
      { first: config.policy.firstRetrySeconds, max: config.policy.maxRetrySeconds, age: config.policy.maxAgeSeconds, warn: config.policy.delayWarningSeconds },
      { first: 120, max: 1800, age: 3 * 86400, warn: 7200 },
    );
    // The default: the SES API in the function's own region, with no host and no secret at all.
    assert.deepEqual(config.smarthost, { kind: 'ses-api', region: `resolved:MAIL_REGION` });
    assert.equal(config.mxPort, 25, 'remote MX port is not configurable in a deployment');
    for (const name of [RELAY_ENV.smarthostPassword, RELAY_ENV.smarthostUsername, RELAY_ENV.smarthostSecretArn, RELAY_ENV.smarthostHost]) assert.ok(!(name in variables), `${name} is not set in SES API mode`);
  });

  it('carries an SMTP smarthost with its secret, and the relay reads it back', () => {
    const smtp = { host: 'email-smtp.us-east-1.amazonaws.com', port: 587, tls: 'starttls', credentialsSecret: 'mail/smarthost' };
    const env = relayEnvironment(settingsOf({ 'mail:smarthost': smtp }), 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail/smarthost-AbCdEf');
    const config = relayConfigFromEnv(env);
    assert.ok(config.smarthost && config.smarthost.kind !== 'ses-api');
    assert.equal(config.smarthost.host, 'email-smtp.us-east-1.amazonaws.com');
    assert.equal(config.smarthost.port, 587);
    assert.equal(config.smarthost.tls, 'starttls');
    assert.equal(config.smarthost.verifyCertificate, true, 'certificate verification is never turned off in AWS');
    assert.equal(config.smarthost.secretArn, 'arn:aws:secretsmanager:us-east-1:111122223333:secret:mail/smarthost-AbCdEf', 'the secret ARN comes from the stack');
    assert.equal(config.smarthost.username, null, 'no credentials in the plain environment');
    assert.ok(!(RELAY_ENV.smarthostKind in env));
  });

  it('refuses an SES API smarthost with SMTP fields', () => {
    assert.throws(() => settingsOf({ 'mail:smarthost': { kind: 'ses-api', credentialsSecret: 'mail/smarthost' } }), /smarthost.*credentialsSecret/s);
  });

  it('takes implicit TLS by default on 465, refuses a mode that contradicts the standard port', () => {
    const ses465 = { host: 'email-smtp.eu-west-1.amazonaws.com', port: 465, credentialsSecret: 'mail/smarthost' };
    const env = relayEnvironment(settingsOf({ 'mail:smarthost': ses465 }), 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:mail/smarthost-AbCdEf');
    assert.equal(env[RELAY_ENV.smarthostTls], 'implicit');
    const parsed = relayConfigFromEnv(env).smarthost;
    assert.equal(parsed?.kind !== 'ses-api' && parsed?.tls, 'implicit');
    assert.throws(() => settingsOf({ 'mail:smarthost': { ...ses465, tls: 'starttls' } }), /smarthost\.tls.*465 is implicit TLS/s);
    assert.throws(() => settingsOf({ 'mail:smarthost': { ...ses465, port: 587, tls: 'implicit' } }), /smarthost\.tls/);
    // SES's alternate ports have fixed modes too: implicit TLS on 2465, STARTTLS on 2587.
    assert.equal(relayEnvironment(settingsOf({ 'mail:smarthost': { ...ses465, port: 2465 } }), 'arn:x')[RELAY_ENV.smarthostTls], 'implicit');
    assert.equal(relayEnvironment(settingsOf({ 'mail:smarthost': { ...ses465, port: 2587 } }), 'arn:x')[RELAY_ENV.smarthostTls], 'starttls');
    assert.throws(() => settingsOf({ 'mail:smarthost': { ...ses465, port: 2465, tls: 'starttls' } }), /smarthost\.tls/);
    // Another provider's non-standard port takes what the user says, STARTTLS when unsaid.
    const other = { host: 'smtp.provider.example', port: 2525, credentialsSecret: 'mail/smarthost' };
    assert.equal(relayEnvironment(settingsOf({ 'mail:smarthost': { ...other, tls: 'implicit' } }), 'arn:x')[RELAY_ENV.smarthostTls], 'implicit');
    assert.equal(relayEnvironment(settingsOf({ 'mail:smarthost': other }), 'arn:x')[RELAY_ENV.smarthostTls], 'starttls');
    assert.equal(relayEnvironment(settingsOf({ 'mail:smarthost': { ...other, port: 2465 } }), 'arn:x')[RELAY_ENV.smarthostTls], 'starttls', '2465 means implicit only at SES');
  });

  it('passes transports for direct delivery as the JSON map the relay parses', () => {
    const settings = settingsOf({ 'mail:smarthost': null, 'mail:relay': { transports: { 'partner.example': 'relay.partner.example:2525' } } });
    const env = relayEnvironment(settings, undefined);
    assert.deepEqual(relayConfigFromEnv(env).transports, { 'partner.example': { host: 'relay.partner.example', port: 2525 } });
    assert.equal(relayConfigFromEnv(env).smarthost, null);
    assert.equal(env[RELAY_ENV.firstRetrySeconds], '300', 'the schedule is always explicit in the template');
    assert.ok(!(RELAY_ENV.transports in relayEnvironment(settingsOf({}), 'arn:x')), 'no empty map');
  });

  it('refuses transports beside a smarthost, bad next hops and an impossible schedule', () => {
    assert.throws(() => settingsOf({ 'mail:relay': { transports: { 'partner.example': 'relay.partner.example:2525' } } }), /relay\.transports.*smarthost/s);
    assert.throws(() => settingsOf({ 'mail:smarthost': null, 'mail:relay': { transports: { 'partner.example': 'relay.partner.example' } } }), /relay\.transports/);
    assert.throws(() => settingsOf({ 'mail:smarthost': null, 'mail:relay': { transports: { 'partner.example': 'relay.partner.example:70000' } } }), /relay\.transports/);
    assert.throws(() => settingsOf({ 'mail:relay': { retry: { firstRetrySeconds: 5 } } }), /firstRetrySeconds/);
    assert.throws(() => settingsOf({ 'mail:relay': { retry: { firstRetrySeconds: 600, maxRetrySeconds: 300 } } }), /maxRetrySeconds/);
    assert.throws(() => settingsOf({ 'mail:relay': { retry: { maxAgeSeconds: 7200, delayWarningSeconds: 7200 } } }), /delayWarningSeconds/);
  });
});

describe('edge environment', () => {
  it('sets the submission limits from context under the names smtp-edge/main.ts reads', () => {
    const task = json.Resources[logicalId(stack.edge!.taskDefinition)]!.Properties;
    const env = Object.fromEntries(task.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    assert.equal(env[EDGE_ENV.submissionMaxMessagesPerHour], '50');
    assert.equal(env[EDGE_ENV.submissionMaxRecipients], '20');
    assert.equal(env[EDGE_ENV.submissionHideClientIp], 'true');
    // The edge's schema is private to its process entry; its variable names are checked in the source.
    const source = readFileSync(path.join(REPO_ROOT, 'smtp-edge/main.ts'), 'utf8');
    for (const name of Object.values(EDGE_ENV)) assert.match(source, new RegExp(`\\b${name}:`), `smtp-edge/main.ts reads ${name}`);
  });

  it('defaults to the edge\'s own limits', () => {
    const s = settingsOf({ 'mail:submission': undefined });
    assert.deepEqual(s.submission, { maxMessagesPerHour: 200, maxRecipients: 100, hideClientIp: false, bareLineFeeds: 'normalize' });
  });
});

describe('mailbox server environment', () => {
  it('sets the IDLE keepalive under the name mailbox-server/main.ts reads', () => {
    const task = json.Resources[logicalId(stack.mailbox!.taskDefinition)]!.Properties;
    const env = Object.fromEntries(task.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    assert.equal(env[MAILBOX_ENV.idleKeepaliveSeconds], String(MAILBOX_IDLE_KEEPALIVE_SECONDS));
    const source = readFileSync(path.join(REPO_ROOT, 'mailbox-server/main.ts'), 'utf8');
    for (const name of Object.values(MAILBOX_ENV)) assert.match(source, new RegExp(`\\b${name}:`), `mailbox-server/main.ts reads ${name}`);
  });
});
