// RFC 3501 §6.1.1 CAPABILITY.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { untagged, atom } from '../wire/writer.ts';

export async function capability(_command: CommandOf<'CAPABILITY'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send(untagged(atom('CAPABILITY'), ...ctx.capabilities().map(atom)));
  return { text: 'CAPABILITY completed' };
}
