// RFC 3501 §6.4.4 SEARCH and §6.4.8 UID SEARCH, CHARSET UTF-8/US-ASCII (RFC 3501 §6.4.4 BADCHARSET),
// RFC 7162 §3.1.5 MODSEQ criterion with its (MODSEQ n) result. Evaluation: ../search.ts.
import { sectionRange } from '../../../core/mime/index.ts';
import type { MessageItem } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { decodedBodyText, evaluate, parseHeaderFields, partHeaderFields, searchNeeds, usesModSeq, type SearchSubject } from '../search.ts';
import type { SelectedState } from '../state.ts';
import { atom, untagged, type ImapValue } from '../wire/writer.ts';

const SEARCH_BATCH = 50;
const charsets = new Set(['UTF-8', 'US-ASCII']);

export async function search(command: CommandOf<'SEARCH'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  if (command.charset !== null && !charsets.has(command.charset.toUpperCase())) throw no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
  const { view } = state;
  const { store } = ctx.services;
  const { blobs } = ctx;
  await ctx.syncSelected(command.uid);
  const uids = view.allUids();
  const scope = { exists: uids.length, maxUid: uids[uids.length - 1] ?? 0 };
  const needs = searchNeeds(command.criteria);
  const matched: SearchSubject[] = [];
  const undecided: SearchSubject[] = [];
  uids.forEach((uid, i) => {
    const current = view.stateOf(uid);
    if (!current || view.isExpunged(uid)) return;
    const subject: SearchSubject = { msn: i + 1, state: current };
    const result = evaluate(command.criteria, subject, scope);
    if (result === true) matched.push(subject);
    else if (result === undefined) undecided.push(subject);
  });
  for (let i = 0; i < undecided.length; i += SEARCH_BATCH) {
    const batch = undecided.slice(i, i + SEARCH_BATCH);
    const items = new Map<number, MessageItem>((await store.getMessages(view.mailbox.id, batch.map((s) => s.state.uid))).map((m) => [m.uid, m]));
    // As many reads at once as the session's share of the S3 read budget lets through.
    await Promise.all(
      batch.map(async (subject) => {
        const item = items.get(subject.state.uid);
        if (!item) return;
        subject.item = item;
        if (needs.body) {
          const raw = await blobs.getRange(item.blobKey, 0, item.size);
          subject.headers = parseHeaderFields(raw.subarray(0, item.index.body.offsets.bodyStart));
          subject.body = await decodedBodyText(raw).catch(() => raw.subarray(item.index.body.offsets.bodyStart).toString('utf8'));
          subject.partHeaders = partHeaderFields(raw, item.index.body);
        } else if (needs.headers) {
          const range = sectionRange(item.index, { part: [], kind: 'header' })!;
          subject.headers = parseHeaderFields(await blobs.getRange(item.blobKey, range.start, range.end));
        }
      }),
    );
    for (const subject of batch) if (subject.item && evaluate(command.criteria, subject, scope) === true) matched.push(subject);
  }
  matched.sort((a, b) => a.msn - b.msn);
  const values: ImapValue[] = [atom('SEARCH'), ...matched.map((s) => (command.uid ? s.state.uid : s.msn))];
  // RFC 7162 §3.1.5: with a MODSEQ criterion, the highest mod-sequence of the matches.
  if (usesModSeq(command.criteria) && matched.length > 0) values.push([atom('MODSEQ'), Math.max(...matched.map((s) => s.state.modSeq))]);
  await ctx.send(untagged(...values));
  return { text: `${command.uid ? 'UID ' : ''}SEARCH completed` };
}
