// Synthesises the stack once per test file and shares it: a small fixture handler stands in for
// each component's entry point, so bundling stays quick (test/infra/cli-synth.test.ts bundles the
// real ones).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildMailApp, cdkJsonContext, REPO_ROOT } from '../../infra/app.ts';
import type { Component } from '../../infra/service-contract.ts';

export const FIXTURE_HANDLER = path.join(REPO_ROOT, 'test/infra/fixtures/handler.ts');
export const ALL_PRESENT: Record<Component, string> = { edge: FIXTURE_HANDLER, mailbox: FIXTURE_HANDLER, inbound: FIXTURE_HANDLER, relay: FIXTURE_HANDLER };

export const TEST_CONTEXT = {
  ...cdkJsonContext(),
  'mail:domains': ['example.com', 'example.org'],
  'mail:hostedZone': { id: 'Z0123456789ABC', name: 'example.com' },
  'mail:alarmEmail': 'ops@example.com',
  'mail:dkim': { 'example.com': { selector: 'mail2026', value: 'v=DKIM1; k=rsa; p=MIIBIjANBgkq' } },
  // Values other than the defaults, so the env wiring tests see them arrive.
  'mail:relay': { retry: { firstRetrySeconds: 120, maxRetrySeconds: 1800, maxAgeSeconds: 3 * 86400, delayWarningSeconds: 7200 } },
  'mail:submission': { maxMessagesPerHour: 50, maxRecipients: 20, hideClientIp: true },
};

export function synth(entryPoints: Record<Component, string> = ALL_PRESENT, context: Record<string, unknown> = TEST_CONTEXT) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-cdk-'));
  // CloudFormation schema validation runs in the CLI synth test; here it would double the time.
  const built = buildMailApp({ nag: false, entryPoints, appProps: { outdir, context, builtinCloudFormationValidation: false } });
  const template = Template.fromStack(built.stack);
  return { ...built, template, outdir, json: template.toJSON() as { Resources: Record<string, { Type: string; Properties?: any; Metadata?: any }>; Outputs: Record<string, any> } };
}

let shared: ReturnType<typeof synth> | undefined;
/** The full stack, synthesised once per process. */
export function fullStack(): ReturnType<typeof synth> {
  shared ??= synth();
  return shared;
}

export function resourcesOfType(json: ReturnType<typeof synth>['json'], type: string): [string, any][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type).map(([id, r]) => [id, r.Properties ?? {}]);
}

/** Every statement of every identity policy in the template, with the roles it is attached to. */
export function policyStatements(json: ReturnType<typeof synth>['json']): { policy: string; roles: string[]; statement: any }[] {
  const out: { policy: string; roles: string[]; statement: any }[] = [];
  for (const [id, p] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const roles = (p.Roles ?? []).map((r: any) => r.Ref as string);
    for (const statement of p.PolicyDocument.Statement) out.push({ policy: id, roles, statement });
  }
  for (const [id, role] of resourcesOfType(json, 'AWS::IAM::Role')) {
    for (const inline of role.Policies ?? []) for (const statement of inline.PolicyDocument.Statement) out.push({ policy: `${id}/${inline.PolicyName}`, roles: [id], statement });
  }
  return out;
}

export const asArray = <T,>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
