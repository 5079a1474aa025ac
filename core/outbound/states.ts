// The states of an outbound delivery's record, apart from the store so that readers (mailctl)
// can name them without loading the AWS SDK.

export type OutboundState =
  /** Waiting for its first attempt. */
  | 'queued'
  /** Failed temporarily; waits for `nextAttemptAt`. */
  | 'deferred'
  | 'delivered'
  /** Failed permanently or expired; the sender got a DSN (unless it was a bounce itself). */
  | 'bounced'
  /** Dropped by an operator (`mailctl queue delete`). */
  | 'cancelled';

export const TERMINAL_STATES: readonly OutboundState[] = ['delivered', 'bounced', 'cancelled'];
