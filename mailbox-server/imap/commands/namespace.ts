// RFC 2342 NAMESPACE: one personal namespace with "/" as delimiter; no other users', no shared.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { atom, untagged } from '../wire/writer.ts';

export async function namespace(_command: CommandOf<'NAMESPACE'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send(untagged(atom('NAMESPACE'), [['', '/']], null, null));
  return { text: 'NAMESPACE completed' };
}
