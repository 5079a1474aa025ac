// RFC 1939 §5 STAT: "+OK count octets" of the messages not marked deleted.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function stat(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  const { count, octets } = state.maildrop.stat();
  await ctx.reply(ok(`${count} ${octets}`));
}
