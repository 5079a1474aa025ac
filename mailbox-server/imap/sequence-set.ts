// IMAP sequence sets (RFC 3501 §9 sequence-set, RFC 5182 "$"): parse, format, normalise,
// membership and expansion against the mailbox's highest number. Pure, no session state.

/** One number of a set: a message number or UID, or "*" (the largest in use). */
export type SequenceNumber = number | '*';

/** A range as written; `from` may be larger than `to` ("*:3" is "3:*"). */
export interface SequenceRange {
  readonly from: SequenceNumber;
  readonly to: SequenceNumber;
}

/** A parsed sequence set, or "$", the saved SEARCH result (RFC 5182 §2.1). */
export type SequenceSet =
  | { readonly kind: 'ranges'; readonly ranges: readonly SequenceRange[] }
  | { readonly kind: 'saved' };

/** A resolved, sorted, merged, inclusive interval [start, end], both ≥ 1. */
export type Interval = readonly [start: number, end: number];

export interface SequenceSetLimits {
  /** Most comma-separated items a set may hold. */
  readonly maxRanges: number;
  /** Whether "$" is allowed (SEARCHRES enabled for the session). */
  readonly allowSaved: boolean;
}

export const defaultSequenceSetLimits: SequenceSetLimits = { maxRanges: 10_000, allowSaved: false };

/** RFC 3501 §9: nz-number is a non-zero unsigned 32-bit integer. */
export const maxNzNumber = 4_294_967_295;

/** Why a sequence set is not acceptable; the parser turns it into a tagged BAD. */
export class SequenceSetError extends Error {}

const nzNumber = /^[1-9][0-9]{0,9}$/;

function parseNumber(text: string): SequenceNumber {
  if (text === '*') return '*';
  if (!nzNumber.test(text)) throw new SequenceSetError(`Invalid number in sequence set: ${JSON.stringify(text.slice(0, 20))}`);
  const n = Number(text);
  if (n > maxNzNumber) throw new SequenceSetError('Number in sequence set exceeds 4294967295');
  return n;
}

/**
 * RFC 3501 §9: sequence-set = (seq-number / seq-range) ["," sequence-set];
 * seq-range = seq-number ":" seq-number. RFC 5182: seq-last-command = "$".
 */
export function parseSequenceSet(text: string, limits: SequenceSetLimits = defaultSequenceSetLimits): SequenceSet {
  if (text === '$') {
    if (!limits.allowSaved) throw new SequenceSetError('"$" needs SEARCHRES');
    return { kind: 'saved' };
  }
  if (text.length === 0) throw new SequenceSetError('Empty sequence set');
  const ranges: SequenceRange[] = [];
  let start = 0;
  // Walk the string instead of split() so an over-long set is refused before it is materialised.
  while (start <= text.length) {
    let end = text.indexOf(',', start);
    if (end === -1) end = text.length;
    if (ranges.length >= limits.maxRanges) throw new SequenceSetError(`Too many ranges in sequence set (max ${limits.maxRanges})`);
    const item = text.slice(start, end);
    const colon = item.indexOf(':');
    if (colon === -1) {
      const n = parseNumber(item);
      ranges.push({ from: n, to: n });
    } else {
      ranges.push({ from: parseNumber(item.slice(0, colon)), to: parseNumber(item.slice(colon + 1)) });
    }
    start = end + 1;
  }
  return { kind: 'ranges', ranges };
}

/** Writes a set back in wire form (ranges as given, no normalisation). */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === 'saved') return '$';
  return set.ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`)).join(',');
}

/**
 * Resolves "*" to `max` (the highest message number or UID in use), orders each range,
 * clips to [1, max] and merges. RFC 3501 §6.4.8: "UID range of 559:*" always includes the
 * highest UID even if it is below 559, which this clipping preserves.
 */
export function normaliseSequenceSet(set: SequenceSet & { kind: 'ranges' }, max: number): Interval[] {
  if (max < 1) return [];
  const resolved: Array<[number, number]> = [];
  for (const r of set.ranges) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    const lo = Math.min(a, b);
    const hi = Math.min(Math.max(a, b), max);
    if (lo <= hi) resolved.push([lo, hi]);
  }
  resolved.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [lo, hi] of resolved) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/** Whether `n` is in the set, with "*" meaning `max`. */
export function sequenceSetContains(set: SequenceSet & { kind: 'ranges' }, n: number, max: number): boolean {
  for (const r of set.ranges) {
    const a = r.from === '*' ? max : r.from;
    const b = r.to === '*' ? max : r.to;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

/** Every number of the set within [1, max], ascending, without duplicates. */
export function* expandSequenceSet(set: SequenceSet & { kind: 'ranges' }, max: number): Generator<number> {
  for (const [lo, hi] of normaliseSequenceSet(set, max)) {
    for (let n = lo; n <= hi; n++) yield n;
  }
}

/** The shortest wire form of a list of numbers, e.g. for COPYUID (RFC 4315 §3): [1,2,3,7] → "1:3,7". */
export function compactSequenceSet(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(',');
}
