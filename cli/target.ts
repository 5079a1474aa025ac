// Where mailctl sends its requests: the running local stack (its `stack.json`) by default,
// or a deployed CloudFormation stack when given --stack and --region.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, coreConfigFromEnv, coreConfigSchema, parseConfig, type CoreConfig } from '../core/config.ts';
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

/**
 * Named outputs a stack made by other tooling may export instead of infra/'s one output per
 * MAIL_* variable (cli/README.md). The mail section of CoreConfig is not needed by mailctl and
 * gets defaults.
 */
export const STACK_OUTPUTS = {
  bucket: 'BucketName',
  tables: {
    directory: 'DirectoryTable',
    mailboxes: 'MailboxesTable',
    messages: 'MessagesTable',
    deliveries: 'DeliveriesTable',
    blobrefs: 'BlobrefsTable',
  },
  queues: { inbound: 'InboundQueueUrl', outbound: 'OutboundQueueUrl' },
  deadLetterQueues: { inbound: 'InboundDlqUrl', outbound: 'OutboundDlqUrl' },
} as const;

const MAIL_DEFAULTS: CoreConfig['mail'] = { hostname: 'localhost', maxMessageBytes: 25 * 1024 * 1024, maxRecipients: 100 };

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

/** `MailTableDirectory` -> `MAIL_TABLE_DIRECTORY`: infra/ names one output per MAIL_* variable. */
const envNameOfOutput = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/**
 * CoreConfig from a stack's outputs. Two forms are read: one output per MAIL_* variable
 * (`MailBucket`, `MailTableDirectory`, `MailQueueInbound`, ...), as infra/mail-stack.ts writes
 * them, read back through coreConfigFromEnv; or the named outputs of STACK_OUTPUTS. The region
 * is always the one asked for, and no endpoint overrides.
 */
export function configFromStackOutputs(stackName: string, region: string, outputs: ReadonlyMap<string, string>): CoreConfig {
  const fail = (err: unknown): never => {
    if (err instanceof ConfigError) throw new TargetError(err.message.split('\n').join(' '));
    throw err;
  };
  if (!outputs.has(STACK_OUTPUTS.bucket) && outputs.has('MailBucket')) {
    const env: Record<string, string> = {};
    for (const [key, value] of outputs) if (key.startsWith('Mail')) env[envNameOfOutput(key)] = value;
    for (const name of ['MAIL_S3_ENDPOINT', 'MAIL_SQS_ENDPOINT', 'MAIL_DYNAMODB_ENDPOINT', 'MAIL_ACCESS_KEY_ID', 'MAIL_SECRET_ACCESS_KEY']) delete env[name];
    env.MAIL_REGION = region;
    try {
      return coreConfigFromEnv(env);
    } catch (err) {
      return fail(err);
    }
  }
  const missing: string[] = [];
  const output = (name: string) => {
    const value = outputs.get(name);
    if (value === undefined) missing.push(name);
    return value ?? '';
  };
  const pick = <K extends string>(names: Record<K, string>) =>
    Object.fromEntries(Object.entries<string>(names).map(([k, name]) => [k, output(name)])) as Record<K, string>;
  const candidate = {
    aws: { region, endpoints: {} },
    resources: {
      bucket: output(STACK_OUTPUTS.bucket),
      tables: pick(STACK_OUTPUTS.tables),
      queues: pick(STACK_OUTPUTS.queues),
      deadLetterQueues: pick(STACK_OUTPUTS.deadLetterQueues),
    },
    mail: MAIL_DEFAULTS,
  };
  if (missing.length > 0) throw new TargetError(`stack ${stackName} lacks the outputs ${missing.join(', ')} (see cli/README.md)`);
  try {
    return parseConfig(coreConfigSchema, candidate, `outputs of stack ${stackName}`);
  } catch (err) {
    return fail(err);
  }
}
