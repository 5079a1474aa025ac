// RFC 8437 UNAUTHENTICATE: back to the not-authenticated state on the same connection (TLS kept),
// so a client can log in as another user; the session forgets the user, the selected mailbox and
// what was ENABLEd (the session resets the rest, ImapSession.loggedOut).
import type { CommandContext, CommandOf, Completion } from '../context.ts';

export async function unauthenticate(_command: CommandOf<'UNAUTHENTICATE'>, ctx: CommandContext): Promise<Completion> {
  ctx.setState({ kind: 'notAuthenticated' });
  return { text: 'UNAUTHENTICATE completed' };
}
