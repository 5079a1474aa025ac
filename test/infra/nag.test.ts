// cdk-nag AwsSolutions: zero unacknowledged findings, and every acknowledgement explains itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { fullStack } from './synth.ts';

const { app, stack, nag } = fullStack();

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, value] of Object.entries(entry.data as Record<string, unknown>)) {
        const reason = typeof value === 'string' ? value : String((value as { reason?: string }).reason ?? JSON.stringify(value));
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the full stack', () => {
    const report = nag.validateScope(app);
    const lines = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    assert.deepEqual(lines, []);
    assert.equal(report.success, true);
  });

  it('is registered as a validation plugin on the app', () => {
    const built = fullStack();
    assert.ok(built.nag instanceof AwsSolutionsChecks);
  });

  it('carries a reason on every acknowledgement, attached below the stack, never stack-wide', () => {
    // aws-cdk-lib acknowledges some of its own CloudFormation-Validate rules; ours are the AwsSolutions ones.
    const acks = acknowledgements(app).filter((a) => a.id.startsWith('AwsSolutions-'));
    assert.ok(acks.length >= 6, `expected the known acknowledgements, got ${acks.length}`);
    for (const a of acks) {
      assert.ok(a.reason.length >= 60, `${a.path} ${a.id}: reason too short: ${a.reason}`);
      assert.notEqual(a.path, stack.node.path, `${a.id} acknowledged for the whole stack`);
    }
    // Wildcard IAM findings are acknowledged per finding, never as the bare rule.
    assert.ok(!acks.some((a) => a.id === 'AwsSolutions-IAM5'));
  });

  it('would report a finding (the check can fail)', () => {
    const probe = new App();
    const s = new Stack(probe, 'Probe');
    new s3.Bucket(s, 'Careless');
    const report = new AwsSolutionsChecks(probe).validateScope(probe);
    const rules = report.violations.map((v) => v.ruleName);
    assert.ok(rules.includes('AwsSolutions-S1') && rules.includes('AwsSolutions-S10'), rules.join(' '));
  });
});
