// RFC 5256 §3 THREAD and UID THREAD (ORDEREDSUBJECT, REFERENCES): the search of ./search.ts, then
// the matches threaded by ../thread.ts. REFERENCES reads each match's header block (the References
// field is not in the stored ENVELOPE), as many at once as the session's read budget allows.
import { sectionRange } from '../../../core/mime/index.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { parseHeaderFields } from '../search.ts';
import type { SelectedState } from '../state.ts';
import { messageIds, threadByOrderedSubject, threadByReferences, threadResponse, type ThreadSubject } from '../thread.ts';
import { findMatches } from './search.ts';
import { withItems } from './sort.ts';

export async function thread(command: CommandOf<'THREAD'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const matched = await withItems(await findMatches(command.criteria, command.charset, ctx, state, command.uid), ctx, state);
  const subjects: ThreadSubject[] = await Promise.all(
    matched.map(async (m) => {
      let references: string[] = [];
      if (command.algorithm === 'REFERENCES') {
        const range = sectionRange(m.item.index, { part: [], kind: 'header' });
        if (range) {
          const fields = parseHeaderFields(await ctx.blobs.getRange(m.item.blobKey, range.start, range.end));
          references = fields.filter(([name]) => name === 'references').flatMap(([, value]) => messageIds(value));
        }
      }
      return { msn: m.msn, state: m.state, envelope: m.envelope, number: command.uid ? m.state.uid : m.msn, references };
    }),
  );
  const threads = command.algorithm === 'REFERENCES' ? threadByReferences(subjects) : threadByOrderedSubject(subjects);
  await ctx.send(threadResponse(threads));
  return { text: `${command.uid ? 'UID ' : ''}THREAD completed` };
}
