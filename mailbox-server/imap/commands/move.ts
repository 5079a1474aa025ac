// RFC 6851 MOVE and UID MOVE: copy, then expunge the originals. §3.3 puts COPYUID in an untagged
// OK before the EXPUNGE responses, which the session sends after the command (§4.3: always allowed).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { copyMessages, copyUidCode } from '../copy-messages.ts';
import { no } from '../errors.ts';
import { resolveMessageSet } from '../message-set.ts';
import { resolveMailbox } from '../resolve.ts';
import type { SelectedState } from '../state.ts';
import { statusLine } from '../wire/writer.ts';

export async function move(command: CommandOf<'MOVE'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  const target = await resolveMailbox(ctx, state.account, command.mailbox, 'TRYCREATE');
  const uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid));
  const pairs = await copyMessages(ctx.services.store, state.account, view.mailbox.id, uids, target);
  if (pairs.length > 0) {
    await ctx.services.store.expunge(state.account, view.mailbox.id, pairs.map(([from]) => from));
    await ctx.send(statusLine(null, 'OK', 'Moved', copyUidCode(target, pairs)));
    ctx.services.junkTraining?.afterCopy(state.account, view.mailbox, target, pairs, true);
  }
  return { text: `${command.uid ? 'UID ' : ''}MOVE completed` };
}
