// The TLS settings both services read: the rules between them refuse a half-configured pair and
// a secret with no files to write, and the defaults name each service's own self-signed folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { checkTlsEnvironment, tlsEnvironmentFields, tlsRenewalSources } from '../../core/tls-environment.ts';

const schema = z.object(tlsEnvironmentFields('smtp-edge')).superRefine(checkTlsEnvironment);
const messages = (env: Record<string, string>) => {
  const parsed = schema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
};

test('a key without its chain, or a secret without the files it is written to, is refused', () => {
  assert.deepEqual(messages({ TLS_KEY_FILE: '/run/key.pem' }), ['set both TLS_KEY_FILE and TLS_CERT_FILE, or neither']);
  assert.deepEqual(messages({ TLS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:tls' }), [
    'TLS_SECRET_ARN needs TLS_KEY_FILE and TLS_CERT_FILE: the poller writes the files the services watch',
  ]);
  assert.deepEqual(messages({ TLS_KEY_FILE: '/run/key.pem', TLS_CERT_FILE: '/run/chain.pem', TLS_SECRET_ARN: 'arn:x' }), []);
});

test('defaults: the service\'s own self-signed folder, the secret read every 300 s; renewal reads the same settings', () => {
  const env = schema.parse({});
  assert.equal(env.TLS_DIR, join(tmpdir(), 'mail-smtp-edge-tls'));
  assert.deepEqual(tlsRenewalSources(env, 'eu-west-1'), { secretPollMs: 300_000, region: 'eu-west-1' });
  const files = schema.parse({ TLS_KEY_FILE: '/k', TLS_CERT_FILE: '/c', TLS_SECRET_ARN: 'arn:x', TLS_SECRET_POLL_SECONDS: '60' });
  assert.deepEqual(tlsRenewalSources(files, 'us-east-1'), { keyFile: '/k', certFile: '/c', secretArn: 'arn:x', secretPollMs: 60_000, region: 'us-east-1' });
});
