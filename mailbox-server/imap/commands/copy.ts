// RFC 3501 §6.4.7 COPY and UID COPY; RFC 4315 §3 COPYUID. The copy shares the blob (the store
// counts references); a missing target is NO [TRYCREATE], a copy the quota has no room for
// NO [OVERQUOTA] (RFC 9208 §4.3). MOVE needs no check: within one account it frees what it takes.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { copyMessages, copyUidCode } from '../copy-messages.ts';
import { requireQuotaRoom } from './append.ts';
import { resolveMessageSet } from '../message-set.ts';
import { resolveMailbox } from '../resolve.ts';
import type { SelectedState } from '../state.ts';

export async function copy(command: CommandOf<'COPY'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  const target = await resolveMailbox(ctx, state.account, command.mailbox, 'TRYCREATE');
  const uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid));
  if (uids.length > 0) {
    // Sizes from the state projection (no MIME index), read only for an account with a quota.
    await requireQuotaRoom(ctx, state.account, async () => {
      const wanted = new Set(uids);
      const low = uids.reduce((a, b) => Math.min(a, b));
      const high = uids.reduce((a, b) => Math.max(a, b));
      const states = await ctx.services.store.listMessageStates(view.mailbox.id, high + 1, { fromUid: low });
      return states.filter((s) => wanted.has(s.uid) && !s.expunged).reduce((sum, s) => sum + s.size, 0);
    });
  }
  const pairs = await copyMessages(ctx.services.store, state.account, view.mailbox.id, uids, target);
  ctx.services.junkTraining?.afterCopy(state.account, view.mailbox, target, pairs, false);
  const text = `${command.uid ? 'UID ' : ''}COPY completed`;
  return pairs.length === 0 ? { text } : { text, code: copyUidCode(target, pairs) };
}
