// Storage quota of an account: the bytes its live messages take against the quota set with
// `mailctl account add --quota` (RFC 9208 §5.1 STORAGE resource, counted here in bytes).

/** An account with a quota and what it uses now; accounts without a quota have none to check. */
export interface QuotaUsage {
  readonly quotaBytes: number;
  readonly usedBytes: number;
}

/**
 * Whether `bytes` more fit. With no quota (null) everything fits. A caller that does not know the
 * size yet (SMTP RCPT without SIZE) asks about 1 byte: "is any room left at all".
 */
export function fitsInQuota(usage: QuotaUsage | null, bytes: number): boolean {
  return usage === null || usage.usedBytes + bytes <= usage.quotaBytes;
}
