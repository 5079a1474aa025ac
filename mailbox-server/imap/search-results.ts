// What a SEARCH answers with once the matches are known: the RFC 3501 §7.2.5 SEARCH response, the
// RFC 4731 ESEARCH response for RETURN options, and what RFC 5182 SAVE keeps as the "$" result.
import type { SearchReturnOptions } from './wire/ast.ts';
import { compactSequenceSet } from './sequence-set.ts';
import { atom, untagged, type ImapValue } from './wire/writer.ts';

/** One matching message: its number as answered (UID or message number) and its UID and modseq. */
export interface SearchMatch {
  readonly number: number;
  readonly uid: number;
  readonly modSeq: number;
}

/** The options that ask for an ESEARCH response; SAVE alone answers with none (RFC 5182 §2.4). */
export const wantsEsearchResponse = (options: SearchReturnOptions) => options.min || options.max || options.all || options.count;

/**
 * RFC 5182 §2.4: SAVE keeps every match, except that with MIN and/or MAX and neither ALL nor COUNT
 * it keeps only those. `matches` are in ascending order.
 */
export function savedSelection(options: SearchReturnOptions, matches: readonly SearchMatch[]): SearchMatch[] {
  if (options.all || options.count || !(options.min || options.max)) return [...matches];
  const kept = new Set<SearchMatch>();
  if (options.min && matches.length > 0) kept.add(matches[0]!);
  if (options.max && matches.length > 0) kept.add(matches[matches.length - 1]!);
  return [...kept];
}

/**
 * RFC 4731 §3.1/§4: `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [COUNT n]`; with no match
 * MIN, MAX and ALL are left out and COUNT is 0. RFC 7162 §3.1.5: with a MODSEQ criterion, the
 * highest mod-sequence of the messages returned.
 */
export function esearchResponse(tag: string, uid: boolean, options: SearchReturnOptions, matches: readonly SearchMatch[], withModSeq: boolean): Buffer {
  const values: ImapValue[] = [atom('ESEARCH'), [atom('TAG'), tag]];
  if (uid) values.push(atom('UID'));
  const returned: SearchMatch[] = [];
  if (matches.length > 0) {
    const first = matches[0]!;
    const last = matches[matches.length - 1]!;
    if (options.min) values.push(atom('MIN'), first.number), returned.push(first);
    if (options.max) values.push(atom('MAX'), last.number), returned.push(last);
    if (options.all) values.push(atom('ALL'), atom(compactSequenceSet(matches.map((m) => m.number)))), returned.push(...matches);
  }
  if (options.count) values.push(atom('COUNT'), matches.length), returned.push(...matches);
  if (withModSeq && returned.length > 0) values.push(atom('MODSEQ'), Math.max(...returned.map((m) => m.modSeq)));
  return untagged(...values);
}

/** RFC 3501 §7.2.5 `* SEARCH n...`, with RFC 7162 §3.1.5 `(MODSEQ n)` after a MODSEQ criterion. */
export function searchResponse(matches: readonly SearchMatch[], withModSeq: boolean): Buffer {
  const values: ImapValue[] = [atom('SEARCH'), ...matches.map((m) => m.number)];
  if (withModSeq && matches.length > 0) values.push([atom('MODSEQ'), Math.max(...matches.map((m) => m.modSeq))]);
  return untagged(...values);
}
