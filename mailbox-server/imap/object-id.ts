// OBJECTID (RFC 8474): the ids a client keeps across sessions. MAILBOXID is the mailbox's store id
// (a UUID, kept across RENAME, §4.1). EMAILID is derived from the blob and the account: COPY and
// MOVE share the blob (docs/ARCHITECTURE.md), so a copy keeps its EMAILID as §5.1 asks, and two
// accounts receiving one delivery get different ids (§9: ids must not let users correlate mail).
// THREADID is NIL: no thread is assigned when mail is filed (§5.2 allows NIL).
import { createHash } from 'node:crypto';

/** objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7), from the base64url alphabet. */
export function emailId(account: string, blobKey: string): string {
  return `M${createHash('sha256').update(`${account}\0${blobKey}`).digest('base64url').slice(0, 26)}`;
}
