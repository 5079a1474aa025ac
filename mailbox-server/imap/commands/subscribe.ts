// RFC 3501 §6.3.6 SUBSCRIBE (only existing mailboxes can be subscribed); UNSUBSCRIBE is in
// unsubscribe.ts and shares setSubscription.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';

/** Marks the named mailbox subscribed or not. */
export async function setSubscription(ctx: CommandContext, account: string, wireName: string, subscribed: boolean): Promise<void> {
  const mailbox = await resolveMailbox(ctx, account, wireName);
  await ctx.services.store.subscribe(account, mailbox.name, subscribed);
}

export async function subscribe(command: CommandOf<'SUBSCRIBE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  await setSubscription(ctx, state.account, command.mailbox, true);
  return { text: 'SUBSCRIBE completed' };
}
