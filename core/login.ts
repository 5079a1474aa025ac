// The one login sequence of every service that checks passwords (SMTP AUTH, IMAP LOGIN and
// AUTHENTICATE, POP3 USER/PASS and AUTH): canonical name, attempt reserved with the throttle,
// delay, password check, settle. Each protocol renders the verdict in its own words.
import { loginAccountKey } from './addresses.ts';
import type { LoginFailureCounter } from './login-failures.ts';
import type { Account, Directory } from './store/types.ts';

/** The throttle as far as logging in uses it (core/login-failures.ts). */
export type LoginThrottle = Pick<LoginFailureCounter, 'reserve' | 'settle'>;

export interface LoginServices {
  readonly throttle: LoginThrottle;
  readonly directory: Pick<Directory, 'verifyPassword'>;
}

export interface LoginAttempt {
  readonly ip: string;
  /** The login name as the client sent it (SASL authcid, LOGIN user, USER). */
  readonly username: string;
  readonly password: string;
  /** SASL authorization identity (RFC 4616 §2), '' or absent when none was given. */
  readonly authorizationId?: string;
}

export type LoginVerdict =
  | { readonly kind: 'accepted'; readonly account: Account }
  /**
   * Wrong password, no such account, a login name that is not a plain address, or an
   * authorization identity other than the login: one answer for all, so nothing is enumerated.
   */
  | { readonly kind: 'rejected'; readonly delayedMs: number }
  /** The client's IP is locked out: refused without looking at the password. */
  | { readonly kind: 'locked-out' }
  /** The directory could not be asked; the attempt counts for nothing. */
  | { readonly kind: 'unavailable'; readonly error: unknown };

/**
 * Runs one attempt. It is admitted by the throttle before the password is looked at, and an IP
 * may have no more attempts in flight than failures left before its lockout (so a burst of
 * parallel guesses meets the lockout the same guesses one after another would); failures are
 * counted against the canonical account, the key the directory resolves the login to, so no
 * spelling of a name gets a counter of its own. The delay comes before the check whether or
 * not the account exists (timing tells nothing).
 */
export async function attemptLogin(attempt: LoginAttempt, services: LoginServices): Promise<LoginVerdict> {
  const { throttle, directory } = services;
  const account = loginAccountKey(attempt.username);
  const authorization = attempt.authorizationId ? loginAccountKey(attempt.authorizationId) : account;
  // A malformed name is a failure of the IP only: it names no account to slow down.
  const counted = account ?? '';
  let verdict = throttle.reserve(attempt.ip, counted);
  while ('queued' in verdict) {
    await verdict.queued;
    verdict = throttle.reserve(attempt.ip, counted);
  }
  if (verdict.refuse) return { kind: 'locked-out' };
  if (verdict.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
  const delayedMs = verdict.delayMs;
  // RFC 4616 §2: acting as another identity is not offered, so an authzid must name the same account.
  if (account === null || authorization !== account) {
    throttle.settle(attempt.ip, counted, 'failed');
    return { kind: 'rejected', delayedMs };
  }
  let found: Account | null;
  try {
    found = await directory.verifyPassword(account, attempt.password);
  } catch (error) {
    throttle.settle(attempt.ip, counted, 'unjudged');
    return { kind: 'unavailable', error };
  }
  throttle.settle(attempt.ip, counted, found ? 'succeeded' : 'failed');
  if (!found) return { kind: 'rejected', delayedMs };
  return { kind: 'accepted', account: found };
}
