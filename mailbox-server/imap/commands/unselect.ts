// RFC 3691 UNSELECT: leaves the selected state like CLOSE (RFC 3501 §6.4.2) without expunging.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import type { SelectedState } from '../state.ts';

export async function unselect(_command: CommandOf<'UNSELECT'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  ctx.setState({ kind: 'authenticated', account: state.account });
  return { text: 'UNSELECT completed' };
}
