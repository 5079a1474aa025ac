// RFC 3501 §6.2.3 LOGIN (LOGINDISABLED on cleartext from remote clients).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { logInUser } from '../login.ts';

export async function login(command: CommandOf<'LOGIN'>, ctx: CommandContext): Promise<Completion> {
  return logInUser(ctx, command.username, command.password);
}
