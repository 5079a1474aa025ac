// The relay's schedule: when to retry a deferred delivery, when to warn the sender, when to give
// up, and how a wait longer than SQS's 900-second delay is split. Pure, so tests compress it.
import { z } from 'zod';
import { parseConfig } from '../config.ts';

/** SQS's largest DelaySeconds; a longer wait re-delays with `notBefore` in the event. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

export const relayPolicySchema = z.object({
  /** Wait before the first retry (Postfix minimal_backoff_time: 300 s). */
  firstRetrySeconds: z.number().nonnegative(),
  /** Longest wait between attempts (Postfix maximal_backoff_time: 4000 s, about an hour). */
  maxRetrySeconds: z.number().nonnegative(),
  /** Give up and bounce this long after the first attempt (Postfix maximal_queue_lifetime: 5 d). */
  maxAgeSeconds: z.number().positive(),
  /** Send one delay warning DSN once a delivery has waited this long (Postfix delay_warning_time: 4 h). */
  delayWarningSeconds: z.number().positive(),
  /** More Received headers than this is a mail loop (RFC 5321 §6.3); Postfix hopcount_limit is 50. */
  maxHops: z.number().int().positive(),
});
export type RelayPolicy = z.infer<typeof relayPolicySchema>;

export const DEFAULT_RELAY_POLICY: RelayPolicy = {
  firstRetrySeconds: 300,
  maxRetrySeconds: 3600,
  maxAgeSeconds: 5 * 24 * 3600,
  delayWarningSeconds: 4 * 3600,
  maxHops: 50,
};

type Env = Record<string, string | undefined>;

/**
 * MAIL_RELAY_FIRST_RETRY_SECONDS, MAIL_RELAY_MAX_RETRY_SECONDS, MAIL_RELAY_MAX_AGE_SECONDS,
 * MAIL_RELAY_DELAY_WARNING_SECONDS, MAIL_RELAY_MAX_HOPS; unset ones keep the Postfix-like defaults.
 */
export function relayPolicyFromEnv(env: Env): RelayPolicy {
  const n = (name: string, fallback: number) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
  const d = DEFAULT_RELAY_POLICY;
  return parseConfig(relayPolicySchema, {
    firstRetrySeconds: n('MAIL_RELAY_FIRST_RETRY_SECONDS', d.firstRetrySeconds),
    maxRetrySeconds: n('MAIL_RELAY_MAX_RETRY_SECONDS', d.maxRetrySeconds),
    maxAgeSeconds: n('MAIL_RELAY_MAX_AGE_SECONDS', d.maxAgeSeconds),
    delayWarningSeconds: n('MAIL_RELAY_DELAY_WARNING_SECONDS', d.delayWarningSeconds),
    maxHops: n('MAIL_RELAY_MAX_HOPS', d.maxHops),
  }, 'relay policy (environment)');
}

/** Seconds to wait after the `failures`-th failed attempt (1-based): doubling from the first, capped. */
export function nextRetryDelay(failures: number, policy: RelayPolicy): number {
  const doubled = policy.firstRetrySeconds * 2 ** Math.max(0, failures - 1);
  return Math.min(doubled, policy.maxRetrySeconds);
}

/** What to do after a temporary failure. */
export type RetryDecision =
  | { readonly kind: 'retry'; readonly at: Date; readonly warnNow: boolean }
  | { readonly kind: 'expire' };

/**
 * After `failures` failed attempts of a delivery first tried at `firstAttemptAt`: retry (never
 * later than the expiry instant, so the last attempt happens at it) or give up. `warned` says
 * the delay warning went already (it goes once).
 */
export function decideRetry(options: { now: Date; firstAttemptAt: Date; failures: number; warned: boolean; policy: RelayPolicy }): RetryDecision {
  const { now, firstAttemptAt, failures, warned, policy } = options;
  const ageSeconds = (now.getTime() - firstAttemptAt.getTime()) / 1000;
  if (ageSeconds >= policy.maxAgeSeconds) return { kind: 'expire' };
  const at = new Date(Math.min(now.getTime() + nextRetryDelay(failures, policy) * 1000, expiryOf(firstAttemptAt, policy).getTime()));
  return { kind: 'retry', at, warnNow: !warned && ageSeconds >= policy.delayWarningSeconds };
}

/** The SQS delay for a wait until `at`: whole seconds, at most 900 (the rest is `notBefore`). */
export function queueDelayUntil(at: Date, now: Date): { delaySeconds: number; notBefore: Date | null } {
  const wait = Math.max(0, Math.ceil((at.getTime() - now.getTime()) / 1000));
  if (wait <= MAX_QUEUE_DELAY_SECONDS) return { delaySeconds: wait, notBefore: null };
  return { delaySeconds: MAX_QUEUE_DELAY_SECONDS, notBefore: at };
}

/** The time a delivery expires (the retry-until of a delay DSN, RFC 3464 §2.3.9). */
export function expiryOf(firstAttemptAt: Date, policy: RelayPolicy): Date {
  return new Date(firstAttemptAt.getTime() + policy.maxAgeSeconds * 1000);
}
