// RFC 1939 §5 DELE msg: only marks the message; it is expunged in the UPDATE state (QUIT).
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function dele(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 1, 1);
  const message = state.maildrop.get(args[0]);
  state.maildrop.markDeleted(message);
  await ctx.reply(ok(`Message ${message.number} deleted`));
}
