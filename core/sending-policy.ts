// What an authenticated sender may do on submission (RFC 6409 §6.1 enforce submission rights): which envelope
// senders it may use, and how much it may send (per-account limits shared by every edge task).
import { addressKey } from './addresses.ts';
import { SmtpError } from './errors.ts';
import type { RecipientRoute } from './store/types.ts';

export interface SendingLimits {
  /** Transactions (MAIL FROM) an account may start per clock hour, across all edge tasks. */
  readonly maxMessagesPerHour: number;
  /** Recipients of one transaction; more get 452 4.5.3 (RFC 5321 §4.5.3.1.10). */
  readonly maxRecipientsPerMessage: number;
}

export const DEFAULT_SENDING_LIMITS: SendingLimits = { maxMessagesPerHour: 200, maxRecipientsPerMessage: 100 };

/** Counts an account's submissions per hour window in a store all edge tasks share. */
export interface SubmissionCounter {
  /** Adds one to the account's counter for `hourWindow` and returns the new count. */
  countSubmission(account: string, hourWindow: string): Promise<number>;
}

/** The clock hour a submission counts against, in UTC: `2026-11-23T01`. */
export function hourWindow(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** When an hour window's counter may go (epoch seconds for DynamoDB TTL): a day after the hour ends. */
export function hourWindowExpiry(window: string): number {
  const start = Date.parse(`${window}:00:00Z`);
  if (Number.isNaN(start)) throw new Error(`Invalid hour window: ${window}`);
  return Math.floor(start / 1000) + 3600 + 24 * 3600;
}

export const SENDING_REPLIES = {
  // RFC 3463 X.7.1: the sender is not allowed to use this address; permanent, retrying cannot help
  notYourAddress: (address: string) => new SmtpError(553, '5.7.1', `Sender address <${address}> is not owned by the authenticated user`),
  // RFC 6409 §6.1 lets the MSA enforce submission rights; users do not send bounces
  nullSender: () => new SmtpError(553, '5.7.1', 'The null sender <> is not allowed for authenticated users'),
  // temporary: the hour passes, and the client keeps the message in its outbox meanwhile
  hourlyLimit: (limit: number) => new SmtpError(451, '4.7.1', `Sending limit of ${limit} messages per hour reached, try again later`),
};

/**
 * RFC 6409 §6.1: an authenticated account may send as its own address or as any address whose
 * mail reaches it (an alias among whose targets it is, following chains, or its domain's
 * catch-all for addresses nobody else holds). `route` is how the directory routes `mailFrom`.
 * Throws the reply to give when the sender is not allowed.
 */
export function checkEnvelopeSender(account: string, mailFrom: string, route: () => Promise<RecipientRoute>): Promise<void> {
  if (mailFrom === '') return Promise.reject(SENDING_REPLIES.nullSender());
  const key = addressKey(mailFrom);
  const own = addressKey(account);
  if (!key || !own) return Promise.reject(SENDING_REPLIES.notYourAddress(mailFrom));
  if (key === own) return Promise.resolve();
  return route().then((r) => {
    if (r.kind !== 'local' || !r.accounts.includes(own)) throw SENDING_REPLIES.notYourAddress(mailFrom);
  });
}

/** Counts one submission; throws the 451 4.7.1 reply when the account is over its hourly limit. */
export async function countAgainstHourlyLimit(counter: SubmissionCounter, account: string, limits: SendingLimits, at = new Date()): Promise<number> {
  const count = await counter.countSubmission(account, hourWindow(at));
  if (count > limits.maxMessagesPerHour) throw SENDING_REPLIES.hourlyLimit(limits.maxMessagesPerHour);
  return count;
}
