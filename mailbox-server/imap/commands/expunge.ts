// placeholder
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';

export async function expunge(_command: CommandOf<'EXPUNGE'>, _ctx: CommandContext): Promise<Completion> {
  throw no('Not implemented yet');
}
