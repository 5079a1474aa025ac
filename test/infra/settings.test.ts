// cdk.json context: defaults, command-line JSON, and readable errors for bad values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/config.ts';
import { cdkJsonContext } from '../../infra/app.ts';
import { spfRecord } from '../../infra/constructs/dns.ts';
import { SETTING_KEYS, settingsFromContext } from '../../infra/settings.ts';

const from = (ctx: Record<string, unknown>) => settingsFromContext((k) => ctx[k]);

describe('deployment settings', () => {
  it('reads cdk.json, which sets every documented key', () => {
    const ctx = cdkJsonContext();
    const s = from(ctx);
    assert.deepEqual(s.domains, ['example.com']);
    assert.equal(s.functions.inbound.batchSize, 10);
    for (const key of SETTING_KEYS) assert.ok(`mail:${key}` in ctx, `cdk.json documents mail:${key}`);
  });

  it('fills defaults for what the user leaves out', () => {
    const s = from({ 'mail:domains': ['a.example'], 'mail:hostname': 'mx.a.example', 'mail:alarmEmail': 'ops@a.example' });
    assert.equal(s.tlsCertificateSecret, null, 'the stack obtains the certificate itself (ACM)');
    assert.equal(s.prefix, 'mail');
    assert.equal(s.retainData, true);
    assert.equal(s.deletionProtection, true);
    assert.equal(s.smarthost, null);
    assert.equal(s.services.mailbox.minTasks, 2, 'two tasks, one per Availability Zone');
    assert.equal(s.services.edge.minTasks, 2);
    assert.equal(s.limits.maxMessageBytes, 25 * 1024 * 1024);
    assert.equal(spfRecord(s), 'v=spf1 mx -all');
  });

  it('takes JSON from -c on the command line', () => {
    const s = from({ 'mail:domains': '["a.example","b.example"]', 'mail:hostname': 'mx.a.example', 'mail:tlsCertificateSecret': 'tls', 'mail:alarmEmail': 'null', 'mail:retainData': 'false' });
    assert.deepEqual(s.domains, ['a.example', 'b.example']);
    assert.equal(s.retainData, false);
  });

  it('names every bad key in one error', () => {
    assert.throws(() => from({ 'mail:domains': [], 'mail:hostname': 'not a host', 'mail:prefix': 'Bad_Prefix' }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      // alarmEmail has no default: an alarm topic nobody is subscribed to is silent.
      for (const key of ['domains', 'hostname', 'prefix', 'alarmEmail']) assert.match(e.message, new RegExp(`\\b${key}\\b`));
      return true;
    });
  });
});
