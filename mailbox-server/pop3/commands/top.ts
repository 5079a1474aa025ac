// RFC 1939 §7 TOP msg n: the header block, the blank line, then n lines of the body (all of it
// if shorter). The header's end comes from the stored MIME index, so nothing is re-parsed.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { expectArgs, lineCount } from './arguments.ts';
import { sendMessage } from './send-message.ts';

export async function top(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 2, 2);
  const message = state.maildrop.get(args[0]);
  const lines = lineCount(args[1]!);
  await sendMessage(ctx, message, 'Top of message follows', lines);
}
