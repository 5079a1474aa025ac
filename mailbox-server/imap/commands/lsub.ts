// RFC 3501 §6.3.9 LSUB: the subscribed names matching the pattern.
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { MailboxPattern } from '../list-pattern.ts';
import type { UserState } from '../state.ts';
import { atom, untagged } from '../wire/writer.ts';
import { ENTRIES_PER_TURN, listable, nextTurn } from './list.ts';

export async function lsub(command: CommandOf<'LSUB'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const pattern = MailboxPattern.compile(command.reference, command.pattern);
  const mailboxes = await ctx.services.store.listMailboxes(state.account);
  for (const [i, entry] of listable(mailboxes).entries()) {
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    if (!entry.mailbox?.subscribed || !pattern.matches(entry.wire)) continue;
    await ctx.send(untagged(atom('LSUB'), [], DELIMITER, entry.wire));
  }
  return { text: 'LSUB completed' };
}
