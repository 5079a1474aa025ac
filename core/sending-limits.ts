// How much an authenticated account may send: the limits (infra/ settings, the edge) and the
// per-hour submission counter the directory keeps for every edge task to share. The edge enforces
// them (smtp-edge/sending-policy.ts).

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
