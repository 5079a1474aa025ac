// RFC 1939 §7 USER name: remembers the name for PASS; says nothing about whether it exists.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';
import { plaintextRefused } from './login.ts';

export async function user(ctx: Pop3Context, _state: StateOf<'authorization'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 1, 1);
  if (!ctx.connection.plaintextLoginAllowed) throw plaintextRefused();
  ctx.setState({ kind: 'authorization', pendingUser: args[0]! });
  await ctx.reply(ok('Send PASS'));
}
