// Builds the CDK app: settings from context, the one stack, and cdk-nag's AwsSolutions checks with
// every acknowledgement and its reason in infra/nag.ts. Used by infra/main.ts and by the tests.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MailStack, entryPointsIn } from './mail-stack.ts';
import { acknowledgeNagFindings } from './nag.ts';
import type { Component } from './service-contract.ts';
import { settingsFromContext } from './settings.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The context of cdk.json, which the CLI passes to the app; in-process builds (tests) read it here. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}

export interface BuildOptions {
  readonly appProps?: AppProps;
  /** Other entry points than the components' own (tests put small fixtures there, so synth stays quick). */
  readonly entryPoints?: Readonly<Record<Component, string>>;
  /** Register the cdk-nag plugin on the app (synth then fails on unacknowledged findings). */
  readonly nag?: boolean;
}

export function buildMailApp(options: BuildOptions = {}): { app: App; stack: MailStack; nag: AwsSolutionsChecks } {
  const app = new App(options.appProps);
  const settings = settingsFromContext((key) => app.node.tryGetContext(key));
  const stack = new MailStack(app, app.node.tryGetContext('mail:stackName') ?? 'Mail', {
    settings,
    repoRoot: REPO_ROOT,
    entryPoints: options.entryPoints ?? entryPointsIn(REPO_ROOT),
    description: 'Serverless mail: SMTP edge, inbound/relay functions, IMAP/POP3 mailbox server (see infra/README.md)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  acknowledgeNagFindings(stack);
  const nag = new AwsSolutionsChecks(app);
  if (options.nag ?? true) Validations.of(app).addPlugins(nag);
  return { app, stack, nag };
}
