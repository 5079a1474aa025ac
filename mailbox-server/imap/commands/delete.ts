// RFC 3501 §6.3.4 DELETE. INBOX cannot be deleted; a mailbox with inferiors is refused rather
// than left as a \Noselect placeholder (the store has no such mailboxes): NO [INUSE], or the
// RFC 9051 §7.1 HASCHILDREN code for an IMAP4rev2 session.
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { resolveMailbox } from '../resolve.ts';
import { isRev2 } from '../rev2.ts';
import type { UserState } from '../state.ts';

export async function deleteMailbox(command: CommandOf<'DELETE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const mailbox = await resolveMailbox(ctx, state.account, command.mailbox);
  if (mailbox.name === 'INBOX') throw no('INBOX cannot be deleted', 'CANNOT');
  const all = await ctx.services.store.listMailboxes(state.account);
  if (all.some((m) => m.name.startsWith(mailbox.name + DELIMITER))) throw no('Mailbox has inferiors; delete them first', isRev2(ctx.enabled) ? 'HASCHILDREN' : 'INUSE');
  await ctx.services.store.deleteMailbox(state.account, mailbox.name);
  return { text: 'DELETE completed' };
}
