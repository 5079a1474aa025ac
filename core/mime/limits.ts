// Limits that keep hostile mail from crashing the indexer or bloating the stored index
// past DynamoDB's 400 KB item size.

/** Multiparts and encapsulated messages nested deeper than this are indexed as opaque single parts. */
export const MAX_DEPTH = 32;
/** At most this many body parts (at every level together) are indexed; later ones are left out. */
export const MAX_PARTS = 2000;
/** Budget for the JSON form of the whole index, leaving room on the item for flags, keys and dates. */
export const MAX_INDEX_BYTES = 256 * 1024;
/** Share of the budget the top-level ENVELOPE may use. */
export const ROOT_ENVELOPE_BYTES = 48 * 1024;
/** Upper share for the ENVELOPE of each encapsulated message/rfc822. */
export const NESTED_ENVELOPE_BYTES = 8 * 1024;
/** An encapsulated message whose envelope cannot get this much is left unexpanded. */
export const MIN_NESTED_ENVELOPE_BYTES = 1024;

/** What is left to spend while indexing one message; one per indexMessage call. */
export interface IndexBudget {
  partsLeft: number;
  bytesLeft: number;
}

export function newBudget(): IndexBudget {
  return { partsLeft: MAX_PARTS, bytesLeft: MAX_INDEX_BYTES - ROOT_ENVELOPE_BYTES };
}

/** Spends `bytes` if they fit (or unconditionally when `force`), counting one part. */
export function chargePart(budget: IndexBudget, bytes: number, force = false): boolean {
  if (!force && (budget.partsLeft <= 0 || bytes > budget.bytesLeft)) return false;
  budget.partsLeft--;
  budget.bytesLeft -= bytes;
  return true;
}
