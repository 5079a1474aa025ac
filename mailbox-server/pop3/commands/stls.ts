// RFC 2595 §4 STLS: TLS on the cleartext port, before login. Anything the client pipelined
// after STLS is discarded by the session (command injection into the TLS session).
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { ok, Pop3Error } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function stls(ctx: Pop3Context, _state: StateOf<'authorization'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  if (ctx.connection.tls) throw new Pop3Error('Command not permitted when TLS active');
  if (!ctx.connection.canStartTls) throw new Pop3Error('TLS not available');
  await ctx.reply(ok('Begin TLS negotiation now'));
  await ctx.startTls();
  // RFC 2595 §4: the server forgets what it learned before TLS (a pending USER name).
  ctx.setState({ kind: 'authorization', pendingUser: null });
}
