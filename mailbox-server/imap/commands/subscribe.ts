// RFC 3501 §6.3.6 SUBSCRIBE and §6.3.7 UNSUBSCRIBE (only existing mailboxes can be subscribed).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';

export async function subscribe(command: CommandOf<'SUBSCRIBE' | 'UNSUBSCRIBE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const mailbox = await resolveMailbox(ctx, state.account, command.mailbox);
  await ctx.services.store.subscribe(state.account, mailbox.name, command.name === 'SUBSCRIBE');
  return { text: `${command.name} completed` };
}
