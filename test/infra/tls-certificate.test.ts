// The TLS certificate in the synthesized stack: by default an ACM exportable certificate, DNS-validated
// in the hosted zone, exported into the TLS secret by a function that ACM's "certificate available"
// event, a daily schedule and a deploy-time trigger invoke, with grants on that certificate and that
// secret only; the services poll the secret (read-only) and start after the first export. With
// mail:tlsCertificateSecret set, none of that exists and the services poll the operator's secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certificateDaysLeft } from '../../core/certificate-expiry.ts';
import { createSelfSignedCertificate } from '../../core/tls.ts';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../infra/app.ts';
import { CERTIFICATE_AVAILABLE_EVENT, CERTIFICATE_EXPORT_ENTRY } from '../../infra/constructs/tls-certificate.ts';
import { CERTIFICATE_EXPORT_ENV, SERVICE_ENV } from '../../infra/service-contract.ts';
import { asArray, fullStack, policyStatements, resourcesOfType, synth, TEST_CONTEXT } from './synth.ts';

type Built = ReturnType<typeof synth>;
const idOf = (built: Built, c: { node: { defaultChild?: unknown } }) => built.stack.resolve(built.stack.getLogicalId(c.node.defaultChild as never)) as string;
const allowsOf = (built: Built, roleId: string) => policyStatements(built.json).filter((s) => s.roles.includes(roleId) && s.statement.Effect === 'Allow').map((s) => s.statement);
const containerEnv = (built: Built, service: 'edge' | 'mailbox') => {
  const td = built.json.Resources[idOf(built, built.stack[service]!.taskDefinition)]!.Properties;
  return Object.fromEntries(td.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
};

describe('the TLS certificate, obtained by the stack (the default)', () => {
  const built = fullStack();
  const { json, stack } = built;
  const managed = stack.tlsCertificate.managed!;
  const certId = idOf(built, managed.certificate);
  const secretId = idOf(built, stack.tlsCertificate.secret as never);
  const fnId = idOf(built, managed.exportFunction);

  it('is an exportable ACM certificate for the host name, DNS-validated in the hosted zone', () => {
    assert.ok(managed, 'cdk.json leaves mail:tlsCertificateSecret null');
    const cert = json.Resources[certId]!.Properties;
    assert.equal(cert.DomainName, 'mail.example.com');
    assert.equal(cert.ValidationMethod, 'DNS');
    assert.equal(cert.CertificateExport, 'ENABLED');
    assert.deepEqual(cert.DomainValidationOptions, [{ DomainName: 'mail.example.com', HostedZoneId: 'Z0123456789ABC' }]);
  });

  it('is exported when ACM issues or renews it, and once a day', () => {
    const rules = resourcesOfType(json, 'AWS::Events::Rule').map(([, r]) => r);
    const targetsFn = (r: any) => r.Targets.some((t: any) => t.Arn['Fn::GetAtt']?.[0] === fnId);
    const onEvent = rules.find((r) => r.EventPattern?.source?.[0] === 'aws.acm');
    assert.ok(onEvent && targetsFn(onEvent));
    assert.deepEqual(onEvent.EventPattern['detail-type'], [CERTIFICATE_AVAILABLE_EVENT]);
    assert.deepEqual(onEvent.EventPattern.resources, [{ Ref: certId }], 'only this certificate\'s events');
    const daily = rules.find((r) => r.ScheduleExpression);
    assert.ok(daily && targetsFn(daily));
    assert.equal(daily.ScheduleExpression, 'rate(1 day)');
    const fn = json.Resources[fnId]!.Properties;
    assert.equal(fn.Environment.Variables[CERTIFICATE_EXPORT_ENV.certificateArn].Ref, certId);
    assert.equal(fn.Environment.Variables[CERTIFICATE_EXPORT_ENV.secretArn].Ref, secretId);
    // The names the stack sets are the ones the handler reads.
    const handler = readFileSync(path.join(REPO_ROOT, CERTIFICATE_EXPORT_ENTRY), 'utf8');
    for (const name of [...Object.values(CERTIFICATE_EXPORT_ENV), 'MAIL_HOSTNAME']) assert.match(handler, new RegExp(`\\b${name}\\b`), name);
  });

  it('lets the export function export this certificate and read and write this secret, nothing else', () => {
    const allowed = allowsOf(built, idOf(built, managed.exportFunction.role as never));
    const grants = allowed.flatMap((s) => asArray(s.Action as string | string[]).flatMap((a) => asArray(s.Resource).map((r) => `${a} ${JSON.stringify(r)}`)));
    assert.deepEqual(grants.sort(), [
      `acm:ExportCertificate {"Ref":"${certId}"}`,
      `secretsmanager:GetSecretValue {"Ref":"${secretId}"}`,
      `secretsmanager:PutSecretValue {"Ref":"${secretId}"}`,
    ]);
  });

  it('lets each service task read this secret only, tells it where, and starts it after the first export', () => {
    const triggerId = idOf(built, managed.firstExport);
    for (const service of ['edge', 'mailbox'] as const) {
      const roleId = idOf(built, stack[service]!.taskDefinition.taskRole as never);
      const secrets = allowsOf(built, roleId).filter((s) => asArray(s.Action as string | string[]).some((a) => a.startsWith('secretsmanager:')));
      assert.deepEqual(secrets.map((s) => [s.Action, s.Resource]), [['secretsmanager:GetSecretValue', { Ref: secretId }]]);
      assert.deepEqual(containerEnv(built, service)[SERVICE_ENV.tlsSecretId], { Ref: secretId });
      const svc = json.Resources[idOf(built, stack[service]!.service)] as { DependsOn?: string[] };
      assert.ok(svc.DependsOn?.includes(triggerId), `${service} starts after the first export`);
    }
    // The trigger runs after the certificate is issued and the secret exists.
    const trigger = json.Resources[triggerId] as { DependsOn?: string[] };
    for (const dep of [certId, secretId]) assert.ok(trigger.DependsOn?.includes(dep), `the first export waits for ${dep}`);
  });

  it('alarms when fewer than 21 whole days are left, and a quiet period keeps the alarm', () => {
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a).filter((a) => /TlsCertificateDaysLeft$/.test(a.MetricName ?? ''));
    assert.equal(alarms.length, 2);
    for (const a of alarms) {
      assert.equal(a.Threshold, 21);
      assert.equal(a.ComparisonOperator, 'LessThanThreshold');
      assert.equal(a.TreatMissingData, 'ignore', 'the services log every 12 hours; a 6-hour period without a line must not clear it');
    }
    // The figure the services log is whole days, floored: 21 days and an hour left is 21 (no alarm),
    // 20 days 23 hours is 20 (alarm): the alarm fires 21 days before expiry.
    const now = new Date();
    const expiringIn = (ms: number) => createSelfSignedCertificate('mail.example.com', ['mail.example.com'], new Date(now.getTime() - 86_400_000), new Date(now.getTime() + ms)).cert;
    assert.equal(certificateDaysLeft(expiringIn(21 * 86_400_000 + 3_600_000), now), 21);
    assert.equal(certificateDaysLeft(expiringIn(21 * 86_400_000 - 3_600_000), now), 20);
  });
});

describe('the TLS certificate, supplied by hand (mail:tlsCertificateSecret)', () => {
  const built = synth(undefined, { ...TEST_CONTEXT, 'mail:tlsCertificateSecret': 'mail/tls' });
  it('creates no certificate, no export, and points the services at the given secret', () => {
    assert.equal(built.stack.tlsCertificate.managed, null);
    assert.equal(resourcesOfType(built.json, 'AWS::CertificateManager::Certificate').length, 0);
    assert.equal(resourcesOfType(built.json, 'AWS::Events::Rule').length, 0);
    for (const service of ['edge', 'mailbox'] as const) {
      assert.equal(containerEnv(built, service)[SERVICE_ENV.tlsSecretId], 'mail/tls');
      const roleId = idOf(built, built.stack[service]!.taskDefinition.taskRole as never);
      const secrets = allowsOf(built, roleId).filter((s) => asArray(s.Action as string | string[]).some((a) => a.startsWith('secretsmanager:')));
      assert.equal(secrets.length, 1);
      assert.equal(secrets[0].Action, 'secretsmanager:GetSecretValue');
      assert.match(JSON.stringify(secrets[0].Resource), /:secret:mail\/tls-\?\?\?\?\?\?/);
    }
  });
});
