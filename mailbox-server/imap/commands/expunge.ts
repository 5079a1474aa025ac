// RFC 3501 §6.4.3 EXPUNGE and RFC 4315 §2.1 UID EXPUNGE: removes the \Deleted messages (of the
// UID set); the EXPUNGE responses come from the view's resynchronisation after the command.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { resolveMessageSet } from '../message-set.ts';
import type { SelectedState } from '../state.ts';

export async function expunge(command: CommandOf<'EXPUNGE'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  await ctx.syncSelected(true);
  const inScope = command.uidSet ? new Set(resolveMessageSet(view, command.uidSet, true)) : null;
  const deleted = view.allUids().filter((uid) => view.stateOf(uid)?.flags.includes('\\Deleted') && (!inScope || inScope.has(uid)));
  if (deleted.length > 0) await ctx.services.store.expunge(state.account, view.mailbox.id, deleted);
  return { text: `${command.uidSet ? 'UID ' : ''}EXPUNGE completed` };
}
