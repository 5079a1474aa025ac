// RFC 1939 §5 RSET: unmark every message marked deleted in this session.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function rset(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  state.maildrop.resetDeletions();
  const { count, octets } = state.maildrop.stat();
  await ctx.reply(ok(`Maildrop has ${count} messages (${octets} octets)`));
}
