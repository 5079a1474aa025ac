// RFC 3501 §6.4.4 SEARCH and §6.4.8 UID SEARCH, CHARSET UTF-8/US-ASCII (RFC 3501 §6.4.4 BADCHARSET),
// RFC 7162 §3.1.5 MODSEQ criterion with its (MODSEQ n) result; RFC 4731 ESEARCH (RETURN options),
// RFC 5182 SEARCHRES (RETURN (SAVE), "$"); RFC 9051 §6.4.4: an IMAP4rev2 session gets ESEARCH even
// without RETURN (as RETURN (ALL)). Evaluation: ../search.ts; answers: ../search-results.ts.
import { sectionRange } from '../../../core/mime/index.ts';
import { copyIndex, copyReads } from '../../../core/header-prefix.ts';
import type { MessageItem } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { decodedBodyText, evaluate, parseHeaderFields, partHeaderFields, searchNeeds, usesModSeq, type SearchScope, type SearchSubject } from '../search.ts';
import { esearchResponse, savedSelection, searchResponse, wantsEsearchResponse, type SearchMatch } from '../search-results.ts';
import { checkRev2SearchKeys, isRev2 } from '../rev2.ts';
import type { SelectedState } from '../state.ts';
import type { SearchKey } from '../wire/ast.ts';

const SEARCH_BATCH = 50;
const charsets = new Set(['UTF-8', 'US-ASCII']);
const RETURN_ALL = { min: false, max: false, all: true, count: false, save: false } as const;

export async function search(command: CommandOf<'SEARCH'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  const options = command.returnOptions ?? (isRev2(ctx.enabled) ? RETURN_ALL : null);
  let matched: SearchSubject[];
  try {
    matched = await findMatches(command.criteria, command.charset, ctx, state, command.uid);
  } catch (err) {
    // RFC 5182 §2.4: a SEARCH with SAVE that fails leaves the result variable empty.
    if (options?.save) view.savedSearch = new Set();
    throw err;
  }
  const matches: SearchMatch[] = matched.map((s) => ({ number: command.uid ? s.state.uid : s.msn, uid: s.state.uid, modSeq: s.state.modSeq }));
  const withModSeq = usesModSeq(command.criteria);
  if (!options) await ctx.send(searchResponse(matches, withModSeq));
  else {
    if (options.save) view.savedSearch = new Set(savedSelection(options, matches).map((m) => m.uid));
    if (wantsEsearchResponse(options)) await ctx.send(esearchResponse(command.tag, command.uid, options, matches, withModSeq));
  }
  return { text: `${command.uid ? 'UID ' : ''}SEARCH completed` };
}

/**
 * The messages of the view that match, in message-number order, after announcing other sessions'
 * changes (EXPUNGE only when `allowExpunge`, RFC 3501 §7.4.1). Shared by SEARCH, SORT and THREAD.
 */
export async function findMatches(criteria: SearchKey, charset: string | null, ctx: CommandContext, state: SelectedState, allowExpunge: boolean): Promise<SearchSubject[]> {
  checkRev2SearchKeys(ctx.enabled, criteria);
  if (charset !== null && !charsets.has(charset.toUpperCase())) throw no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
  const { view } = state;
  const { store } = ctx.services;
  const { blobs } = ctx;
  await ctx.syncSelected(allowExpunge);
  const uids = view.allUids();
  const scope: SearchScope = { account: state.account, exists: uids.length, maxUid: uids[uids.length - 1] ?? 0, saved: view.savedSearch, now: Date.now() };
  const needs = searchNeeds(criteria);
  const matched: SearchSubject[] = [];
  const undecided: SearchSubject[] = [];
  uids.forEach((uid, i) => {
    const current = view.stateOf(uid);
    if (!current || view.isExpunged(uid)) return;
    const subject: SearchSubject = { msn: i + 1, state: current };
    const result = evaluate(criteria, subject, scope);
    if (result === true) matched.push(subject);
    else if (result === undefined) undecided.push(subject);
  });
  for (let i = 0; i < undecided.length; i += SEARCH_BATCH) {
    const batch = undecided.slice(i, i + SEARCH_BATCH);
    const items = new Map<number, MessageItem>((await store.getMessages(view.mailbox.id, batch.map((s) => s.state.uid))).map((m) => [m.uid, m]));
    // As many reads at once as the session's share of the S3 read budget lets through.
    await Promise.all(
      batch.map(async (subject) => {
        const stored = items.get(subject.state.uid);
        if (!stored) return;
        subject.item = stored;
        // Searched as served: the copy's header prefix and the blob (core/header-prefix.ts).
        const item = { ...stored, index: copyIndex(stored) };
        const reads = copyReads(blobs, stored);
        if (needs.body) {
          const raw = await reads.getRange(item.blobKey, 0, item.size);
          subject.headers = parseHeaderFields(raw.subarray(0, item.index.body.offsets.bodyStart));
          subject.body = await decodedBodyText(raw).catch(() => raw.subarray(item.index.body.offsets.bodyStart).toString('utf8'));
          subject.partHeaders = partHeaderFields(raw, item.index.body);
        } else if (needs.headers) {
          const range = sectionRange(item.index, { part: [], kind: 'header' })!;
          subject.headers = parseHeaderFields(await reads.getRange(item.blobKey, range.start, range.end));
        }
      }),
    );
    for (const subject of batch) if (subject.item && evaluate(criteria, subject, scope) === true) matched.push(subject);
  }
  return matched.sort((a, b) => a.msn - b.msn);
}
