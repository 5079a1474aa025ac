// RFC 5256 §3 THREAD and UID THREAD (ORDEREDSUBJECT, REFERENCES): the search of ./search.ts, then
// the matches threaded by ../thread.ts. REFERENCES reads each match's header block (the References
// field is not in the stored ENVELOPE), a batch at a time, as many at once as the session's read
// budget allows.
import { copyIndex, copyReads } from '../../../core/header-prefix.ts';
import { sectionRange } from '../../../core/mime/index.ts';
import type { MessageItem } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { MAX_FILTERED_HEADER_OCTETS } from '../fetch-response.ts';
import { parseHeaderFields } from '../search.ts';
import type { SelectedState } from '../state.ts';
import { messageIds, threadByOrderedSubject, threadByReferences, threadResponse, type ThreadSubject } from '../thread.ts';
import { findMatches } from './search.ts';
import { withItems } from './sort.ts';

const HEADER_BATCH = 50;

/** The msg-ids of the References field, from the header block (capped as HEADER.FIELDS is) read through the part map. */
async function referencesOf(item: MessageItem, ctx: CommandContext): Promise<string[]> {
  const range = sectionRange(copyIndex(item), { part: [], kind: 'header' });
  if (!range) return [];
  const fields = parseHeaderFields(await copyReads(ctx.blobs, item).getRange(item.blobKey, range.start, Math.min(range.end, range.start + MAX_FILTERED_HEADER_OCTETS)));
  return fields.filter(([name]) => name === 'references').flatMap(([, value]) => messageIds(value));
}

export async function thread(command: CommandOf<'THREAD'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const matched = await withItems(await findMatches(command.criteria, command.charset, ctx, state, command.uid), ctx, state);
  const subjects: ThreadSubject[] = [];
  // In batches, so a large mailbox never holds more than one batch of header blocks at once.
  for (let i = 0; i < matched.length; i += HEADER_BATCH) {
    const batch = matched.slice(i, i + HEADER_BATCH);
    const references = command.algorithm === 'REFERENCES' ? await Promise.all(batch.map((m) => referencesOf(m.item, ctx))) : batch.map(() => []);
    batch.forEach((m, k) => subjects.push({ msn: m.msn, state: m.state, envelope: m.envelope, number: command.uid ? m.state.uid : m.msn, references: references[k]! }));
  }
  const threads = command.algorithm === 'REFERENCES' ? threadByReferences(subjects) : threadByOrderedSubject(subjects);
  await ctx.send(threadResponse(threads));
  return { text: `${command.uid ? 'UID ' : ''}THREAD completed` };
}
