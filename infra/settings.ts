// Deployment settings: everything a user chooses lives in cdk.json context under `mail:*` keys,
// read and validated once here into a typed object the constructs receive.
import { z } from 'zod';
import { BARE_LINE_FEED_POLICIES, parseConfig } from '../core/config.ts';
import { DEFAULT_RELAY_POLICY } from '../core/outbound/policy.ts';
import { FUNCTIONS } from '../core/resources.ts';
import { DEFAULT_SENDING_LIMITS } from '../core/sending-limits.ts';

const hostName = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'a fully qualified host name');

const DAY = 24 * 3600;

/**
 * The TLS mode a smarthost port implies: RFC 8314 §3.3 implicit TLS on 465, RFC 6409 STARTTLS on 587;
 * Amazon SES SMTP endpoints also take STARTTLS on 25 and 2587 and implicit TLS on 2465 (Amazon SES
 * developer guide, "Connecting to an Amazon SES SMTP endpoint"). Undefined: the user says.
 */
export function smarthostTlsMode(host: string, port: number): 'starttls' | 'implicit' | undefined {
  if (port === 465) return 'implicit';
  if (port === 587) return 'starttls';
  if (/^email-smtp(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/i.test(host)) {
    if (port === 2465) return 'implicit';
    if (port === 25 || port === 2587) return 'starttls';
  }
  return undefined;
}

/**
 * The relay's retry schedule (core/outbound/policy.ts reads it from MAIL_RELAY_*). Defaults are the
 * relay's own (Postfix-like); the bounds keep a deployment inside what RFC 5321 §4.5.4.1 asks of
 * a sender: retry, but not in a tight loop, and keep trying for days before giving up.
 */
const retrySettings = z.object({
  /** Wait after the first failed attempt; doubles after each further one. */
  firstRetrySeconds: z.number().int().min(60).max(DAY).default(DEFAULT_RELAY_POLICY.firstRetrySeconds),
  /** Cap of the doubling wait. Each attempt renews the outbound record's 30-day TTL, so it stays below that. */
  maxRetrySeconds: z.number().int().min(60).max(DAY).default(DEFAULT_RELAY_POLICY.maxRetrySeconds),
  /** Give up (failure DSN, RFC 3463 X.4.7) this long after the first attempt. */
  maxAgeSeconds: z.number().int().min(3600).max(30 * DAY).default(DEFAULT_RELAY_POLICY.maxAgeSeconds),
  /** Send one delay warning DSN (RFC 3464 action=delayed) once a delivery has waited this long. */
  delayWarningSeconds: z.number().int().min(60).default(DEFAULT_RELAY_POLICY.delayWarningSeconds),
}).prefault({})
  .refine((r) => r.maxRetrySeconds >= r.firstRetrySeconds, { message: 'maxRetrySeconds must be at least firstRetrySeconds', path: ['maxRetrySeconds'] })
  .refine((r) => r.delayWarningSeconds < r.maxAgeSeconds, { message: 'delayWarningSeconds must be below maxAgeSeconds (the warning would never be sent)', path: ['delayWarningSeconds'] });

/** `host:port` of a transport map entry (functions/relay/config.ts MAIL_RELAY_TRANSPORTS). */
const nextHop = z.string().regex(/^(?=.{1,253}:)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?:\d{1,5}$/i, '"host:port"')
  .refine((v) => { const port = Number(v.slice(v.lastIndexOf(':') + 1)); return port >= 1 && port <= 65535; }, 'a port between 1 and 65535');

const functionSettings = (defaults: { memoryMb: number; batchSize: number; maxBatchingWindowSeconds: number }) =>
  z.object({
    memoryMb: z.number().int().min(128).max(10240).default(defaults.memoryMb),
    batchSize: z.number().int().min(1).max(10).default(defaults.batchSize),
    maxBatchingWindowSeconds: z.number().int().min(0).max(300).default(defaults.maxBatchingWindowSeconds),
    /** Caps concurrent invocations from the queue (protects DynamoDB and remote MXs); 2..1000. */
    maxConcurrency: z.number().int().min(2).max(1000).optional(),
  }).prefault({});

const serviceSettings = (defaults: { cpu: number; memoryMiB: number; maxTasks: number }) =>
  z.object({
    /** Fargate vCPU units (256 = 0.25 vCPU) and memory; must be a valid Fargate pair. */
    cpu: z.number().int().default(defaults.cpu),
    memoryMiB: z.number().int().default(defaults.memoryMiB),
    /** Two by default: the VPC spans two Availability Zones and ECS spreads a service's tasks over them, so one AZ or one task can fail. */
    minTasks: z.number().int().min(1).default(2),
    maxTasks: z.number().int().min(1).default(defaults.maxTasks),
    /** Auto scaling targets: average CPU percent, and open connections per task. */
    targetCpuPercent: z.number().int().min(10).max(90).default(60),
    connectionsPerTask: z.number().int().min(10).default(500),
  }).prefault({})
    .refine((t) => t.maxTasks >= t.minTasks, { message: 'maxTasks must be at least minTasks', path: ['maxTasks'] });

export const deploymentSettingsSchema = z.object({
  /** Prefix of physical names (tables `<prefix>-directory`, queues `<prefix>-inbound`); one per deployment in an account/region. */
  prefix: z.string().regex(/^[a-z][a-z0-9-]{1,20}$/).default('mail'),
  /** Mail domains this system receives for (MX, SPF, DMARC are published for each one inside the hosted zone). */
  domains: z.array(hostName).min(1),
  /** Public host name of the load balancer: MX target, EHLO name, IMAP/POP3/submission server name. */
  hostname: hostName,
  /**
   * null (the default): the stack obtains an ACM exportable public certificate for `hostname` and keeps
   * it renewed (infra/constructs/tls-certificate.ts). Or a Secrets Manager secret (name or full ARN) you
   * keep yourself, JSON `{"key": "<PEM private key>", "chain": "<PEM certificate chain>"}`; the services
   * take up a new version of it within minutes.
   */
  tlsCertificateSecret: z.string().min(1).nullable().default(null),
  /**
   * Where outbound mail goes: the SES API (`{"kind": "ses-api"}`, the default: port 25 egress is
   * blocked in AWS), an SMTP smarthost (another provider, or SES's SMTP interface), or null for
   * direct MX delivery.
   */
  smarthost: z.preprocess((v) => (v && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'smtp' } : v), z.discriminatedUnion('kind', [
    // `ses-api`: the relay calls SES's SendEmail (raw content) with its own IAM role, in the stack's
    // region, for the identities the stack creates: no IAM user, no SMTP password, no secret.
    z.object({ kind: z.literal('ses-api') }).strict(),
    z.object({
      kind: z.literal('smtp'),
      host: hostName,
      port: z.number().int().min(1).max(65535).default(587),
      /**
       * `starttls` (STARTTLS required, never opportunistic: RFC 6409 submission, SES on 25/587/2587) or
       * `implicit` (TLS from the first byte, RFC 8314 §3.3: 465, and SES on 2465). Unset: the port's mode
       * (smarthostTlsMode), else starttls.
       */
      tls: z.enum(['starttls', 'implicit']).optional(),
      /** Secrets Manager secret (name or ARN) with JSON `{"username": "...", "password": "..."}`. */
      credentialsSecret: z.string().min(1),
    }),
  ])
    // A port with a known mode fixes it; the other mode would hang at the greeting or the handshake.
    .refine((s) => s.kind !== 'smtp' || s.tls === undefined || smarthostTlsMode(s.host, s.port) === undefined || s.tls === smarthostTlsMode(s.host, s.port),
      { message: 'port 465 is implicit TLS (RFC 8314 §3.3), as is SES\'s 2465; 587 is STARTTLS (RFC 6409), as are SES\'s 25 and 2587; tls contradicts the port', path: ['tls'] })
    .transform((s) => (s.kind === 'smtp' ? { ...s, tls: s.tls ?? smarthostTlsMode(s.host, s.port) ?? 'starttls' as const } : s)))
    .nullable().default(null),
  /** How the relay schedules retries and, without a smarthost, where some domains go. */
  relay: z.object({
    retry: retrySettings,
    /**
     * Per-domain next hops that skip the MX lookup (like Postfix transport_maps): domain -> "host:port".
     * Only for direct delivery: with a smarthost every message goes to the smarthost.
     */
    transports: z.record(hostName, nextHop).default({}),
  }).prefault({}),
  /** Limits the SMTP edge enforces on authenticated submission (587/465), per account across all tasks. */
  submission: z.object({
    /** Transactions an account may start per clock hour; more get 451 4.7.1. */
    maxMessagesPerHour: z.number().int().positive().default(DEFAULT_SENDING_LIMITS.maxMessagesPerHour),
    /** Recipients of one submitted message, more get 452 4.5.3 (RFC 5321 §4.5.3.1.10); limits.maxRecipients is port 25's. */
    maxRecipients: z.number().int().positive().default(DEFAULT_SENDING_LIMITS.maxRecipientsPerMessage),
    /** Leave the client's IP address out of the Received: header of submitted mail (privacy). */
    hideClientIp: z.boolean().default(false),
    /** Lines ending in a bare LF: stored as CRLF (`normalize`) or the message refused with 554 5.6.0 (`reject`). */
    bareLineFeeds: z.enum(BARE_LINE_FEED_POLICIES).default('normalize'),
  }).prefault({}),
  /** What the MX (port 25) does with mail from the internet beyond the limits below. */
  mx: z.object({
    /** Lines ending in a bare LF: stored as CRLF (`normalize`, as Postfix's smtpd_forbid_bare_newline) or refused (`reject`). */
    bareLineFeeds: z.enum(BARE_LINE_FEED_POLICIES).default('normalize'),
  }).prefault({}),
  /** Optional Route 53 hosted zone to publish the records in; without it, the README lists the records to set by hand. */
  hostedZone: z.object({ id: z.string().min(1), name: hostName }).nullable().default(null),
  /** DKIM public records printed by `mailctl dkim generate <domain>`: domain -> { selector, value }. */
  dkim: z.record(hostName, z.object({ selector: z.string().regex(/^[a-z0-9-]+$/i), value: z.string().min(1) })).default({}),
  /** DMARC policy published for each domain. */
  dmarcPolicy: z.enum(['none', 'quarantine', 'reject']).default('quarantine'),
  /** Keep tables and the bucket when the stack is deleted (RETAIN) — turn off only for throw-away stacks. */
  retainData: z.boolean().default(true),
  /** DynamoDB deletion protection on every table. */
  deletionProtection: z.boolean().default(true),
  limits: z.object({
    maxMessageBytes: z.number().int().positive().default(25 * 1024 * 1024),
    maxRecipients: z.number().int().positive().default(100),
  }).prefault({}),
  functions: z.object({
    inbound: functionSettings({ memoryMb: 1024, batchSize: FUNCTIONS.inbound.batchSize, maxBatchingWindowSeconds: FUNCTIONS.inbound.maxBatchingWindowSeconds }),
    relay: functionSettings({ memoryMb: 512, batchSize: FUNCTIONS.relay.batchSize, maxBatchingWindowSeconds: FUNCTIONS.relay.maxBatchingWindowSeconds }),
  }).prefault({}),
  services: z.object({
    edge: serviceSettings({ cpu: 256, memoryMiB: 512, maxTasks: 4 }),
    mailbox: serviceSettings({ cpu: 256, memoryMiB: 512, maxTasks: 4 }),
  }).prefault({}),
  /** Days CloudWatch keeps logs. */
  logRetentionDays: z.number().int().positive().default(30),
  /**
   * E-mail address subscribed to the alarm topic. Required: an alarm nobody hears does not help. `null`
   * only on purpose (you subscribe the topic yourself, e.g. to a chat or pager), and synth warns.
   */
  alarmEmail: z.string().email().nullable(),
  /** Age in seconds of the oldest inbound message before the backlog alarm fires. */
  inboundBacklogAlarmSeconds: z.number().int().positive().default(300),
  /** Days left on the TLS certificate the services present when the expiry alarm fires. */
  certificateExpiryAlarmDays: z.number().int().min(1).max(90).default(21),
})
  .refine((s) => s.smarthost === null || Object.keys(s.relay.transports).length === 0,
    { message: 'relay.transports apply only to direct MX delivery; with mail:smarthost set every message goes to the smarthost', path: ['relay', 'transports'] });
export type DeploymentSettings = z.infer<typeof deploymentSettingsSchema>;

/** The context keys, `mail:<name>`, one per top-level setting. */
export const SETTING_KEYS = Object.keys(deploymentSettingsSchema.shape) as (keyof DeploymentSettings)[];

/**
 * Reads the settings from CDK context. Values given on the command line (`-c mail:domains='["a.example"]'`)
 * arrive as strings, so a string that parses as JSON is taken as JSON.
 */
export function settingsFromContext(tryGetContext: (key: string) => unknown): DeploymentSettings {
  const raw: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    let value = tryGetContext(`mail:${key}`);
    if (typeof value === 'string' && /^[[{]|^(true|false|null|-?\d+(\.\d+)?)$/.test(value.trim())) {
      try { value = JSON.parse(value); } catch { /* a plain string */ }
    }
    if (value !== undefined) raw[key] = value;
  }
  return parseConfig(deploymentSettingsSchema, raw, 'cdk.json context (mail:*)');
}
