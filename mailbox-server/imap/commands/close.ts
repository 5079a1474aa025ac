// RFC 3501 §6.4.2 CLOSE: silent expunge of \Deleted unless read-only, then no mailbox selected.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import type { SelectedState } from '../state.ts';

export async function close(_command: CommandOf<'CLOSE'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  if (!view.readOnly) {
    // Current flags through the view's incremental resync (its responses are not sent: §6.4.2
    // CLOSE is silent), not a re-read of every message.
    await view.sync(ctx.services.store, { allowExpunge: false, condstore: false });
    const deleted = view.allUids().filter((uid) => !view.isExpunged(uid) && view.stateOf(uid)?.flags.includes('\\Deleted'));
    if (deleted.length > 0) await ctx.services.store.expunge(state.account, view.mailbox.id, deleted);
  }
  ctx.setState({ kind: 'authenticated', account: state.account });
  return { text: 'CLOSE completed' };
}
