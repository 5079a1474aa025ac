// RFC 3501 §6.1.2 NOOP and §6.4.1 CHECK: nothing to do but let pending changes be announced,
// which the session does after every command (EXPUNGE included, §7.4.1).
import type { CommandContext, CommandOf, Completion } from '../context.ts';

export async function noop(_command: CommandOf<'NOOP'>, _ctx: CommandContext): Promise<Completion> {
  return { text: 'NOOP completed' };
}

/** CHECK: every change is already durable in DynamoDB, so a checkpoint is a NOOP. */
export async function check(_command: CommandOf<'CHECK'>, _ctx: CommandContext): Promise<Completion> {
  return { text: 'CHECK completed' };
}
