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

/** Where an account's quota and usage are read (Directory.quotaUsage). */
export interface QuotaReader {
  quotaUsage(address: string): Promise<QuotaUsage | null>;
}

/**
 * The rule every writer on a user's behalf applies before storing (RFC 9208 §4.3: a command that
 * would take the account past its quota changes nothing): whether `bytes` more fit. The size may
 * be given as a function, asked only when the account has a quota (COPY sums its messages then).
 */
export async function hasQuotaRoom(reader: QuotaReader, account: string, bytes: number | (() => Promise<number>)): Promise<boolean> {
  const usage = await reader.quotaUsage(account);
  if (usage === null) return true;
  return fitsInQuota(usage, typeof bytes === 'number' ? bytes : await bytes());
}
