// How a read of a large mailbox is split so its Queries run side by side. The UIDs to read are
// known before any is read (every UID below the uidNext of the mailbox item has its item,
// docs/decisions/0003-uid-protocol.md), so the range is cut into consecutive segments, each read
// by its own Query (paginated within), and the answers joined in UID order. One Query page is at
// most 1 MB of items read, whatever the projection (DynamoDB Query, "Paginating table query
// results"): a mailbox of 10,000 messages is several pages, which one Query reads one after
// another and segments read at once (docs/decisions/0011-read-path.md).

/** Below this many UIDs a range is read by one Query: one request, as many pages as it takes. */
export const MIN_SEGMENT_UIDS = 1000;
/** Queries of one read in flight at once; a larger range makes wider segments, not more of them. */
export const MAX_SEGMENTS = 8;

export interface UidSegment {
  /** First UID, inclusive. */
  readonly from: number;
  /** Last UID, inclusive. */
  readonly to: number;
}

/**
 * [from, to] (both inclusive) cut into at most `maxSegments` consecutive segments of nearly equal
 * width, none narrower than `minWidth` unless the range is; empty when to < from.
 */
export function uidSegments(from: number, to: number, options: { minWidth?: number; maxSegments?: number } = {}): UidSegment[] {
  const minWidth = Math.max(1, options.minWidth ?? MIN_SEGMENT_UIDS);
  const maxSegments = Math.max(1, options.maxSegments ?? MAX_SEGMENTS);
  if (!(to >= from)) return [];
  const span = to - from + 1;
  const count = Math.min(maxSegments, Math.max(1, Math.floor(span / minWidth)));
  const width = Math.ceil(span / count);
  const segments: UidSegment[] = [];
  for (let start = from; start <= to; start += width) segments.push({ from: start, to: Math.min(to, start + width - 1) });
  return segments;
}

/** Reads every segment at once and joins the answers in segment (so UID) order. */
export async function readSegments<T>(segments: readonly UidSegment[], read: (segment: UidSegment) => Promise<T[]>): Promise<T[]> {
  const parts = await Promise.all(segments.map(read));
  return parts.flat();
}
