// RFC 3501 §6.2.1 STARTTLS. The TLS negotiation starts after the tagged OK; anything the
// client pipelined after the command is dropped (plaintext command injection, RFC 2595 §3.1).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad } from '../errors.ts';

export async function starttls(_command: CommandOf<'STARTTLS'>, ctx: CommandContext): Promise<Completion> {
  if (ctx.secure) throw bad('TLS is already active');
  return { text: 'Begin TLS negotiation now', after: () => ctx.startTls() };
}
