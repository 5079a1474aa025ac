// RFC 1939 §7 PASS string: the password for the name of the preceding USER (the wire layer
// hands over the rest of the line, spaces included).
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { Pop3Error } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';
import { login, plaintextRefused } from './login.ts';

export async function pass(ctx: Pop3Context, state: StateOf<'authorization'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 1, 1);
  if (!ctx.connection.plaintextLoginAllowed) throw plaintextRefused();
  if (state.pendingUser === null) throw new Pop3Error('USER first');
  // RFC 1939 §7: after a failed PASS the client starts again with USER.
  ctx.setState({ kind: 'authorization', pendingUser: null });
  await login(ctx, state.pendingUser, args[0]!);
}
