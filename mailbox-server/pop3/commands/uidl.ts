// RFC 1939 §7 UIDL [msg]: unique-ids that survive sessions; UIDVALIDITY.UID from the store,
// printable ASCII and far below the 70-character limit.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { multiLine, ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function uidl(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 1);
  if (args.length === 1) {
    const message = state.maildrop.get(args[0]);
    await ctx.reply(ok(`${message.number} ${message.uniqueId}`));
    return;
  }
  await ctx.reply(multiLine('Unique-id listing follows', state.maildrop.live().map((m) => `${m.number} ${m.uniqueId}`)));
}
