// What the MX's verification logs per message and the metric filters count (the edge has no
// metrics client of its own: infra/constructs/monitoring.ts turns these log fields into metrics).
import type { InboundAction } from './policy.ts';

export const AUTHENTICATION_METRICS = {
  /** The log event, one per message verified (smtp-edge/authentication.ts). */
  event: 'smtp.message-authenticated',
  /** Log field → metric name; each counts messages by the field's value (a `result` or `action` dimension). */
  byField: { spf: 'SpfResults', dkim: 'DkimResults', dmarc: 'DmarcResults', arc: 'ArcResults', action: 'InboundAuthenticationActions' },
  /** Results graphed on the dashboard (RFC 8601 §2.7 keywords). */
  results: ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'],
  /** What the MX did: accepted, into Junk, refused 550, deferred 451. */
  actions: ['accept', 'quarantine', 'reject', 'defer'] satisfies readonly (InboundAction | 'defer')[],
} as const;
