// The pinned CLI synthesises the real app offline: no credentials, no Docker, no network. The
// app registers cdk-nag as a validation plugin, so an unacknowledged finding fails this test too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../../infra/app.ts';

it('cdk synth -q succeeds offline with the repository cdk.json', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-cdk-cli-'));
  const bin = path.join(REPO_ROOT, 'node_modules/.bin');
  const env: Record<string, string | undefined> = {
    ...process.env,
    // The CLI's shebang runs `node` from PATH: make that the project's Node 24.
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // No account: keep the CLI from looking for credentials or a region.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined,
    AWS_REGION: 'us-east-1',
    NODE_OPTIONS: undefined,
  };
  const result = spawnSync(path.join(bin, 'cdk'), ['synth', '-q', '--no-notices', '--no-version-reporting', '--output', outdir], {
    cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 280_000,
  });
  assert.equal(result.status, 0, `cdk synth failed:\n${result.stdout}\n${result.stderr}`);
  const template = JSON.parse(fs.readFileSync(path.join(outdir, 'Mail.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
  const types = new Set(Object.values(template.Resources).map((r) => r.Type));
  for (const t of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::ElasticLoadBalancingV2::LoadBalancer']) assert.ok(types.has(t), t);
  assert.doesNotMatch(result.stderr, /AwsSolutions-/, 'no cdk-nag finding is reported');
  fs.rmSync(outdir, { recursive: true, force: true });
});
