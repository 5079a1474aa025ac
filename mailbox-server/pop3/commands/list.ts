// RFC 1939 §5 LIST [msg]: "number size" per message not marked deleted; sizes are the exact
// octets of the stored (CRLF) blob, before dot-stuffing.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { multiLine, ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function list(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 1);
  if (args.length === 1) {
    const message = state.maildrop.get(args[0]);
    await ctx.reply(ok(`${message.number} ${message.size}`));
    return;
  }
  const { count, octets } = state.maildrop.stat();
  await ctx.reply(multiLine(`${count} messages (${octets} octets)`, state.maildrop.live().map((m) => `${m.number} ${m.size}`)));
}
