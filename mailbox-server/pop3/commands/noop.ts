// RFC 1939 §5 NOOP: nothing, but it proves the session is alive (and resets the autologout timer).
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function noop(ctx: Pop3Context, _state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  await ctx.reply(ok());
}
