// The relay's configuration beside core's: the schedule, SMTP timeouts, smarthost or direct MX,
// and a transport map. Read once at the composition root (handler.ts) from the environment.
import { z } from 'zod';
import { parseConfig } from '../../core/config.ts';
import { relayPolicyFromEnv, type RelayPolicy } from '../../core/outbound/policy.ts';
import type { SmtpTimeouts } from './session-clock.ts';

/** Every message through the Amazon SES API with the function's own role (ses-api.ts): no secret. */
export interface SesApiSmarthost {
  readonly kind: 'ses-api';
  /** The SES region: where the domain identities are verified. */
  readonly region: string;
}

/** Every message to one SMTP host (another provider, or SES's SMTP interface), with AUTH. */
export interface SmtpSmarthost {
  readonly kind?: 'smtp';
  readonly host: string;
  readonly port: number;
  /** `implicit` = TLS from the first byte (465); `starttls` = STARTTLS required (587, SES). */
  readonly tls: 'implicit' | 'starttls';
  readonly verifyCertificate: boolean;
  /** ARN of a Secrets Manager secret with JSON {"username","password"} (AWS). */
  readonly secretArn: string | null;
  /** Credentials given directly (local stack, tests). */
  readonly username: string | null;
  readonly password: string | null;
}

export type Smarthost = SmtpSmarthost | SesApiSmarthost;

export interface RelayConfig {
  readonly policy: RelayPolicy;
  readonly timeouts: SmtpTimeouts;
  /** Port of remote MX hosts (25; tests point it at their fake MX). */
  readonly mxPort: number;
  /** All mail through this host instead of MX delivery; null = direct MX. */
  readonly smarthost: Smarthost | null;
  /** Per-domain next hops that skip MX lookup, like Postfix's transport_maps: domain -> host:port. */
  readonly transports: Readonly<Record<string, { host: string; port: number }>>;
  /** Time kept back from the Lambda deadline to settle a batch (re-enqueue, records, DSNs). */
  readonly settleMarginMs: number;
}

type Env = Record<string, string | undefined>;

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/).transform((v) => {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
});

/**
 * MAIL_RELAY_MX_PORT, MAIL_RELAY_TRANSPORTS (JSON {"domain": "host:port"}), the per-step
 * MAIL_RELAY_{CONNECT,GREETING,COMMAND,DATA_START,DATA_BLOCK,DATA_END}_TIMEOUT_MS,
 * MAIL_RELAY_SETTLE_MARGIN_MS, the policy's MAIL_RELAY_* (core/outbound/policy.ts), and for a
 * smarthost MAIL_SMARTHOST_HOST, MAIL_SMARTHOST_PORT (587), MAIL_SMARTHOST_TLS (starttls |
 * implicit; implicit by default on 465), MAIL_SMARTHOST_VERIFY_TLS (true),
 * MAIL_SMARTHOST_SECRET_ARN or MAIL_SMARTHOST_USERNAME + MAIL_SMARTHOST_PASSWORD; or
 * MAIL_SMARTHOST_KIND=ses-api (the SES API with the function's role) with MAIL_SES_REGION
 * (default: the function's region).
 */
export function relayConfigFromEnv(env: Env): RelayConfig {
  const n = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  let transports: unknown = {};
  try {
    transports = env.MAIL_RELAY_TRANSPORTS ? JSON.parse(env.MAIL_RELAY_TRANSPORTS) : {};
  } catch {
    transports = 'not JSON';
  }
  const port = n('MAIL_SMARTHOST_PORT', 587);
  const ms = z.number().int().positive();
  const schema = z.object({
    timeouts: z.object({
      connectMs: ms, greetingMs: ms, commandMs: ms, dataStartMs: ms, dataBlockMs: ms, dataEndMs: ms,
    }),
    mxPort: z.number().int().min(1).max(65535),
    smarthost: z.union([z.object({ kind: z.literal('ses-api'), region: z.string().min(1) }), z.object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      tls: z.enum(['implicit', 'starttls']),
      verifyCertificate: z.boolean(),
      secretArn: z.string().min(1).nullable(),
      username: z.string().min(1).nullable(),
      password: z.string().nullable(),
    })]).nullable(),
    transports: z.record(z.string().min(1), hostPort),
    settleMarginMs: z.number().int().nonnegative(),
  });
  const parsed = parseConfig(schema, {
    // RFC 5321 §4.5.3.2 gives minimums for a client with all the time it wants (5 min for the
    // greeting, MAIL and RCPT, 2 for DATA, 3 per data block, 10 after the final dot). An
    // invocation has FUNCTIONS.relay's 150 s less the settle margin, shared by its whole batch,
    // and each attempt also stops at that deadline. Before the final dot nothing has been taken,
    // so giving up early costs only a retry: those waits are shortened so that one stalled or
    // misconfigured peer (a smarthost on the wrong TLS port greets nobody) fails visibly within
    // a minute. The wait after the final dot keeps the RFC's 10 minutes, i.e. whatever the
    // deadline leaves: giving up there may duplicate the message (§4.5.3.2.6, RFC 1047).
    timeouts: {
      connectMs: n('MAIL_RELAY_CONNECT_TIMEOUT_MS', 30_000),
      greetingMs: n('MAIL_RELAY_GREETING_TIMEOUT_MS', 45_000),
      commandMs: n('MAIL_RELAY_COMMAND_TIMEOUT_MS', 60_000),
      dataStartMs: n('MAIL_RELAY_DATA_START_TIMEOUT_MS', 60_000),
      dataBlockMs: n('MAIL_RELAY_DATA_BLOCK_TIMEOUT_MS', 60_000),
      dataEndMs: n('MAIL_RELAY_DATA_END_TIMEOUT_MS', 10 * 60_000),
    },
    mxPort: n('MAIL_RELAY_MX_PORT', 25),
    smarthost: env.MAIL_SMARTHOST_KIND === 'ses-api'
      ? { kind: 'ses-api', region: env.MAIL_SES_REGION || env.MAIL_REGION || env.AWS_REGION }
      : env.MAIL_SMARTHOST_HOST
      ? {
          host: env.MAIL_SMARTHOST_HOST,
          port,
          tls: (env.MAIL_SMARTHOST_TLS ?? (port === 465 ? 'implicit' : 'starttls')),
          verifyCertificate: env.MAIL_SMARTHOST_VERIFY_TLS !== 'false',
          secretArn: env.MAIL_SMARTHOST_SECRET_ARN || null,
          username: env.MAIL_SMARTHOST_USERNAME || null,
          password: env.MAIL_SMARTHOST_PASSWORD ?? null,
        }
      : null,
    transports,
    settleMarginMs: n('MAIL_RELAY_SETTLE_MARGIN_MS', 15_000),
  }, 'relay configuration (environment)');
  return { ...parsed, policy: relayPolicyFromEnv(env) };
}
