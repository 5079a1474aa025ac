// Typed configuration, read and validated once at each composition root and passed down.
import { z } from 'zod';
import { latencyModelFromEnv, latencyModelSchema, latencyModelToEnv } from './aws/latency.ts';
import { type QueueName, type TableName, TABLES, QUEUES } from './resources.ts';

const endpointSchema = z.string().url().optional();

export const awsConfigSchema = z.object({
  region: z.string().min(1),
  /** Endpoint overrides, set only when talking to emulators. */
  endpoints: z.object({ s3: endpointSchema, sqs: endpointSchema, dynamodb: endpointSchema }),
  /** Static credentials for emulators; in AWS the default provider chain is used. */
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }).optional(),
  /** Emulators only: AWS's round-trip latencies added to every request (aws/latency.ts). */
  latency: latencyModelSchema.nullable().optional(),
});
export type AwsConfig = z.infer<typeof awsConfigSchema>;

export const resourceNamesSchema = z.object({
  bucket: z.string().min(3),
  tables: z.object(Object.fromEntries(Object.keys(TABLES).map((t) => [t, z.string().min(3)])) as Record<TableName, z.ZodString>),
  queues: z.object(Object.fromEntries(Object.keys(QUEUES).map((q) => [q, z.string().url()])) as Record<QueueName, z.ZodString>),
  deadLetterQueues: z.object(Object.fromEntries(Object.keys(QUEUES).map((q) => [q, z.string().url()])) as Record<QueueName, z.ZodString>),
});
export type ResourceNames = z.infer<typeof resourceNamesSchema>;

/** What the SMTP edge does with a DATA line ending in a bare LF (smtp-edge/line-endings.ts). */
export const BARE_LINE_FEED_POLICIES = ['normalize', 'reject'] as const;
export type BareLineFeedPolicy = (typeof BARE_LINE_FEED_POLICIES)[number];

export const mailConfigSchema = z.object({
  /** The host name this system announces (greeting, Received:, EHLO). */
  hostname: z.string().min(1),
  /** Largest message accepted, in bytes (SIZE extension). */
  maxMessageBytes: z.number().int().positive(),
  maxRecipients: z.number().int().positive(),
});
export type MailConfig = z.infer<typeof mailConfigSchema>;

export const coreConfigSchema = z.object({ aws: awsConfigSchema, resources: resourceNamesSchema, mail: mailConfigSchema });
export type CoreConfig = z.infer<typeof coreConfigSchema>;

export class ConfigError extends Error {}

/** Parses a value against a schema, turning zod's report into one readable line per problem. */
export function parseConfig<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid ${what}:\n${lines.join('\n')}`);
  }
  return result.data;
}

type Env = Record<string, string | undefined>;
const num = (env: Env, name: string, fallback: number) => (env[name] === undefined ? fallback : Number(env[name]));

/**
 * Reads the core configuration from the environment. The same variables are set by
 * the CDK stack (Lambda/Fargate environment) and by the local supervisor.
 *   MAIL_REGION, MAIL_S3_ENDPOINT, MAIL_SQS_ENDPOINT, MAIL_DYNAMODB_ENDPOINT,
 *   MAIL_ACCESS_KEY_ID / MAIL_SECRET_ACCESS_KEY (emulators only),
 *   MAIL_BUCKET, MAIL_TABLE_<NAME>, MAIL_QUEUE_<NAME>, MAIL_DLQ_<NAME>,
 *   MAIL_HOSTNAME, MAIL_MAX_MESSAGE_BYTES, MAIL_MAX_RECIPIENTS,
 *   MAIL_AWS_LATENCY (+ _MBPS, _SEED): the emulators' AWS latency model (aws/latency.ts)
 */
/**
 * `MAIL_TABLE_DIRECTORY` -> `MailTableDirectory`: the stack output that carries an environment
 * variable. infra/ names its outputs with it and mailctl reads them back with envNameOfOutput.
 */
export function outputKeyForEnv(name: string): string {
  return name.toLowerCase().split('_').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

/** `MailTableDirectory` -> `MAIL_TABLE_DIRECTORY`, the inverse of outputKeyForEnv. */
export function envNameOfOutput(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The variables naming the deployed resources: without any of them there is no CoreConfig. */
export function resourceEnvNames(): string[] {
  const upper = (s: string) => s.toUpperCase();
  return [
    'MAIL_BUCKET',
    ...Object.keys(TABLES).map((t) => `MAIL_TABLE_${upper(t)}`),
    ...Object.keys(QUEUES).flatMap((q) => [`MAIL_QUEUE_${upper(q)}`, `MAIL_DLQ_${upper(q)}`]),
  ];
}

export function coreConfigFromEnv(env: Env = process.env): CoreConfig {
  const upper = (s: string) => s.toUpperCase();
  return parseConfig(coreConfigSchema, {
    aws: {
      region: env.MAIL_REGION ?? env.AWS_REGION ?? 'us-east-1',
      endpoints: { s3: env.MAIL_S3_ENDPOINT, sqs: env.MAIL_SQS_ENDPOINT, dynamodb: env.MAIL_DYNAMODB_ENDPOINT },
      credentials: env.MAIL_ACCESS_KEY_ID
        ? { accessKeyId: env.MAIL_ACCESS_KEY_ID, secretAccessKey: env.MAIL_SECRET_ACCESS_KEY ?? '' }
        : undefined,
      latency: latencyModelFromEnv(env),
    },
    resources: {
      bucket: env.MAIL_BUCKET,
      tables: Object.fromEntries(Object.keys(TABLES).map((t) => [t, env[`MAIL_TABLE_${upper(t)}`]])),
      queues: Object.fromEntries(Object.keys(QUEUES).map((q) => [q, env[`MAIL_QUEUE_${upper(q)}`]])),
      deadLetterQueues: Object.fromEntries(Object.keys(QUEUES).map((q) => [q, env[`MAIL_DLQ_${upper(q)}`]])),
    },
    mail: {
      hostname: env.MAIL_HOSTNAME ?? 'localhost',
      maxMessageBytes: num(env, 'MAIL_MAX_MESSAGE_BYTES', 25 * 1024 * 1024),
      maxRecipients: num(env, 'MAIL_MAX_RECIPIENTS', 100),
    },
  }, 'configuration (environment)');
}

/** The inverse of coreConfigFromEnv: the environment a child process or function needs. */
export function coreConfigToEnv(config: CoreConfig): Record<string, string> {
  const env: Record<string, string> = {
    MAIL_REGION: config.aws.region,
    MAIL_BUCKET: config.resources.bucket,
    MAIL_HOSTNAME: config.mail.hostname,
    MAIL_MAX_MESSAGE_BYTES: String(config.mail.maxMessageBytes),
    MAIL_MAX_RECIPIENTS: String(config.mail.maxRecipients),
  };
  const { s3, sqs, dynamodb } = config.aws.endpoints;
  if (s3) env.MAIL_S3_ENDPOINT = s3;
  if (sqs) env.MAIL_SQS_ENDPOINT = sqs;
  if (dynamodb) env.MAIL_DYNAMODB_ENDPOINT = dynamodb;
  if (config.aws.latency) Object.assign(env, latencyModelToEnv(config.aws.latency));
  if (config.aws.credentials) {
    env.MAIL_ACCESS_KEY_ID = config.aws.credentials.accessKeyId;
    env.MAIL_SECRET_ACCESS_KEY = config.aws.credentials.secretAccessKey;
  }
  for (const [t, name] of Object.entries(config.resources.tables)) env[`MAIL_TABLE_${t.toUpperCase()}`] = name;
  for (const [q, url] of Object.entries(config.resources.queues)) env[`MAIL_QUEUE_${q.toUpperCase()}`] = url;
  for (const [q, url] of Object.entries(config.resources.deadLetterQueues)) env[`MAIL_DLQ_${q.toUpperCase()}`] = url;
  return env;
}
