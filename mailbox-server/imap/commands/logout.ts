// RFC 3501 §6.1.3 LOGOUT: untagged BYE, tagged OK, then close.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { statusLine } from '../wire/writer.ts';

export async function logout(_command: CommandOf<'LOGOUT'>, ctx: CommandContext): Promise<Completion> {
  ctx.setState({ kind: 'logout' });
  await ctx.send(statusLine(null, 'BYE', 'Logging out'));
  return { text: 'LOGOUT completed', after: async () => ctx.close() };
}
