// RFC 2971 ID: say who we are (name, version, vendor); the client's parameters are only logged,
// whatever fields they carry (iOS Mail sends "event", RFC 2971 §3.3 lets clients add any field).
import packageJson from '../../../package.json' with { type: 'json' };
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { atom, untagged } from '../wire/writer.ts';

export async function id(command: CommandOf<'ID'>, ctx: CommandContext): Promise<Completion> {
  if (command.parameters) ctx.services.log.info('imap.client-id', { remote: ctx.remoteAddress, id: Object.fromEntries(command.parameters.slice(0, 30)) });
  await ctx.send(untagged(atom('ID'), ['name', 'mailbox-server', 'version', packageJson.version, 'vendor', 'serverless-mail']));
  return { text: 'ID completed' };
}
