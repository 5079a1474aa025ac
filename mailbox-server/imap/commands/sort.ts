// RFC 5256 §3 SORT and UID SORT (with RFC 5957 DISPLAYFROM/DISPLAYTO): the search of ./search.ts,
// then the matches ordered by ../sort.ts from their stored ENVELOPE.
import type { MessageItem } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { usesModSeq, type SearchSubject } from '../search.ts';
import { sortMessages, type SortSubject } from '../sort.ts';
import type { SelectedState } from '../state.ts';
import { atom, untagged, type ImapValue } from '../wire/writer.ts';
import { findMatches } from './search.ts';

const ITEM_BATCH = 50;

export async function sort(command: CommandOf<'SORT'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const matched = await findMatches(command.criteria, command.charset, ctx, state, command.uid);
  const sorted = sortMessages(await withItems(matched, ctx, state), command.sortCriteria);
  const values: ImapValue[] = [atom('SORT'), ...sorted.map((s) => (command.uid ? s.state.uid : s.msn))];
  // RFC 7162 §3.1.5 applies to SORT as to SEARCH.
  if (usesModSeq(command.criteria) && sorted.length > 0) values.push([atom('MODSEQ'), Math.max(...sorted.map((s) => s.state.modSeq))]);
  await ctx.send(untagged(...values));
  return { text: `${command.uid ? 'UID ' : ''}SORT completed` };
}

/** The matches with their stored items (ENVELOPE), in batches; one expunged meanwhile is left out. */
export async function withItems(matched: readonly SearchSubject[], ctx: CommandContext, state: SelectedState): Promise<Array<SortSubject & { item: MessageItem }>> {
  const out: Array<SortSubject & { item: MessageItem }> = [];
  for (let i = 0; i < matched.length; i += ITEM_BATCH) {
    const batch = matched.slice(i, i + ITEM_BATCH);
    const missing = batch.filter((s) => !s.item).map((s) => s.state.uid);
    const loaded = new Map((missing.length > 0 ? await ctx.services.store.getMessages(state.view.mailbox.id, missing) : []).map((m) => [m.uid, m]));
    for (const subject of batch) {
      const item = subject.item ?? loaded.get(subject.state.uid);
      if (item) out.push({ msn: subject.msn, state: subject.state, envelope: item.index.envelope, item });
    }
  }
  return out;
}
