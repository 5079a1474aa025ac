// Where mailctl sends its requests: the running local stack (its `stack.json`) by default,
// or a deployed CloudFormation stack when given --stack and --region.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, coreConfigFromEnv, coreConfigSchema, envNameOfOutput, outputKeyForEnv, parseConfig, resourceEnvNames, type CoreConfig } from '../core/config.ts';
import { z } from 'zod';

/** The repository root (this file is `<root>/cli/target.ts`), so the default works from any cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The file the local stack writes on start and mailctl reads: `<data dir>/stack.json`,
 * `{ "config": <CoreConfig> }` (core/config.ts) with the emulators' endpoints and the
 * resource names. Documented in cli/README.md.
 */
export const STACK_FILE = 'stack.json';
const stackFileSchema = z.object({ config: coreConfigSchema });

export interface TargetOptions {
  readonly dataDir?: string;
  readonly region?: string;
  readonly stack?: string;
}

/** A failure to find or read the target: one line for the user, no stack trace. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export function dataDirFor(options: TargetOptions, env: Record<string, string | undefined>): string {
  return options.dataDir ?? env.MAIL_DATA_DIR ?? join(REPO_ROOT, '.mail-data');
}

export async function resolveTarget(options: TargetOptions, env: Record<string, string | undefined>): Promise<CoreConfig> {
  if (options.stack !== undefined || options.region !== undefined) {
    const region = options.region ?? env.AWS_REGION;
    if (!options.stack || !region) throw new TargetError('--stack <name> and --region <region> go together');
    return configFromCloudFormation(options.stack, region);
  }
  return configFromStackFile(dataDirFor(options, env));
}

async function configFromStackFile(dataDir: string): Promise<CoreConfig> {
  const path = join(dataDir, STACK_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TargetError(`no local stack at ${path}: start it with \`npm start\`, or pass --data-dir, or --stack and --region for AWS`);
    }
    throw new TargetError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TargetError(`${path} is not JSON`);
  }
  try {
    return parseConfig(stackFileSchema, json, path).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new TargetError(err.message.split('\n').join(' '));
    throw err;
  }
}

async function configFromCloudFormation(stackName: string, region: string): Promise<CoreConfig> {
  // Loaded only for --stack: the local default should not pay for it.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cfn = new CloudFormationClient({ region });
  let outputs: Map<string, string>;
  try {
    const answer = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = answer.Stacks?.[0];
    if (!stack) throw new TargetError(`stack ${stackName} not found in ${region}`);
    outputs = new Map((stack.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue] as const] : [])));
  } catch (err) {
    if (err instanceof TargetError) throw err;
    throw new TargetError(`cannot describe stack ${stackName} in ${region}: ${(err as Error).message}`);
  } finally {
    cfn.destroy();
  }
  return configFromStackOutputs(stackName, region, outputs);
}


/**
 * CoreConfig from a stack's outputs: one output per MAIL_* variable (`MailBucket`,
 * `MailTableDirectory`, `MailQueueInbound`, ...), as infra/mail-stack.ts writes them, read back
 * through coreConfigFromEnv. The region is always the one asked for, and no endpoint overrides.
 */
export function configFromStackOutputs(stackName: string, region: string, outputs: ReadonlyMap<string, string>): CoreConfig {
  const env: Record<string, string> = {};
  for (const [key, value] of outputs) if (key.startsWith('Mail')) env[envNameOfOutput(key)] = value;
  for (const name of ['MAIL_S3_ENDPOINT', 'MAIL_SQS_ENDPOINT', 'MAIL_DYNAMODB_ENDPOINT', 'MAIL_ACCESS_KEY_ID', 'MAIL_SECRET_ACCESS_KEY']) delete env[name];
  env.MAIL_REGION = region;
  const missing = resourceEnvNames().filter((name) => env[name] === undefined).map(outputKeyForEnv);
  if (missing.length > 0) throw new TargetError(`stack ${stackName} lacks the outputs ${missing.join(', ')} (is it a stack deployed from infra/?)`);
  try {
    return coreConfigFromEnv(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new TargetError(`outputs of stack ${stackName}: ${err.message.split('\n').join(' ')}`);
    throw err;
  }
}
