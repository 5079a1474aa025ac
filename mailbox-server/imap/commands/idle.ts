// placeholder
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';

export async function idle(_command: CommandOf<'IDLE'>, _ctx: CommandContext): Promise<Completion> {
  throw no('Not implemented yet');
}
