// Resolving a wire mailbox name inside the session's account, with the RFC 5530 code each
// command wants for a missing mailbox (TRYCREATE for APPEND/COPY/MOVE, RFC 3501 §6.3.11).
import type { Mailbox } from '../../core/store/types.ts';
import type { CommandContext } from './context.ts';
import { no } from './errors.ts';
import { mailboxNameFromWire, utf8Names } from './names.ts';

export async function resolveMailbox(ctx: CommandContext, account: string, wireName: string, missingCode = 'NONEXISTENT'): Promise<Mailbox> {
  const name = mailboxNameFromWire(wireName, utf8Names(ctx.enabled));
  const mailbox = await ctx.services.store.getMailbox(account, name);
  if (!mailbox) throw no('No such mailbox', missingCode);
  return mailbox;
}
