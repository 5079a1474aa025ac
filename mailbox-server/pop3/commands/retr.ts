// RFC 1939 §7 RETR msg: the whole message, dot-stuffed, streamed from the blob store.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { expectArgs } from './arguments.ts';
import { sendMessage } from './send-message.ts';

export async function retr(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  expectArgs(args, 1, 1);
  const message = state.maildrop.get(args[0]);
  await sendMessage(ctx, message, `${message.size} octets`);
}
