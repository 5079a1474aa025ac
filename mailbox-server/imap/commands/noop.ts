// RFC 3501 §6.1.2 NOOP: nothing to do but let pending changes be announced, which the session
// does after every command (EXPUNGE included, §7.4.1).
import type { CommandContext, CommandOf, Completion } from '../context.ts';

export async function noop(_command: CommandOf<'NOOP'>, _ctx: CommandContext): Promise<Completion> {
  return { text: 'NOOP completed' };
}
