// The shape RFC 1939 gives LIST (§5) and UIDL (§7) alike: with a message number, one +OK line
// "number value" for it; without, a multi-line listing of that line for every message not marked
// deleted. The commands differ only in the value and the listing's first line.
import type { Pop3Context } from '../context.ts';
import type { MaildropMessage } from '../maildrop.ts';
import type { StateOf } from '../state.ts';
import { multiLine, ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function replyScanListing(
  ctx: Pop3Context,
  state: StateOf<'transaction'>,
  args: readonly string[],
  value: (message: MaildropMessage) => string | number,
  heading: () => string,
): Promise<void> {
  expectArgs(args, 0, 1);
  if (args.length === 1) {
    const message = state.maildrop.get(args[0]);
    await ctx.reply(ok(`${message.number} ${value(message)}`));
    return;
  }
  await ctx.reply(multiLine(heading(), state.maildrop.live().map((m) => `${m.number} ${value(m)}`)));
}
