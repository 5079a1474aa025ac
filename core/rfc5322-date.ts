// The date-time of mail headers (Date:, Received:, DSN fields), written once.

/** RFC 5322 §3.3 date-time in UTC, with a numeric zone (not the obsolete `GMT`). */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}
