// RFC 2971 ID: say who we are; the client's parameters are only logged.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { atom, untagged } from '../wire/writer.ts';

export async function id(command: CommandOf<'ID'>, ctx: CommandContext): Promise<Completion> {
  if (command.parameters) ctx.services.log.info('client-id', { remote: ctx.remoteAddress, id: Object.fromEntries(command.parameters.slice(0, 30)) });
  await ctx.send(untagged(atom('ID'), ['name', 'mailbox-server', 'vendor', 'serverless-mail']));
  return { text: 'ID completed' };
}
