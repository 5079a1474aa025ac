// RFC 3501 §6.3.7 UNSUBSCRIBE.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import type { UserState } from '../state.ts';
import { setSubscription } from './subscribe.ts';

export async function unsubscribe(command: CommandOf<'UNSUBSCRIBE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  await setSubscription(ctx, state.account, command.mailbox, false);
  return { text: 'UNSUBSCRIBE completed' };
}
