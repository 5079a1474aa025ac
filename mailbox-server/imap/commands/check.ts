// RFC 3501 §6.4.1 CHECK: every change is already durable in DynamoDB, so a checkpoint does what
// NOOP does (pending changes are announced after the command, EXPUNGE included, §7.4.1).
import type { CommandContext, CommandOf, Completion } from '../context.ts';

export async function check(_command: CommandOf<'CHECK'>, _ctx: CommandContext): Promise<Completion> {
  return { text: 'CHECK completed' };
}
