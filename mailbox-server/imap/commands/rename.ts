// RFC 3501 §6.3.5 RENAME. Renaming INBOX moves all its messages into a new mailbox of the new
// name and leaves INBOX in place, empty; inferiors of INBOX are not renamed. An IMAP4rev2 session
// hears the new name with its OLDNAME (RFC 9051 §7.3.1).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { copyMessages } from '../copy-messages.ts';
import { no } from '../errors.ts';
import { mailboxNameFromWire, utf8Names } from '../names.ts';
import { resolveMailbox } from '../resolve.ts';
import { isRev2, mailboxListResponse } from '../rev2.ts';
import type { UserState } from '../state.ts';

export async function rename(command: CommandOf<'RENAME'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const { store } = ctx.services;
  const source = await resolveMailbox(ctx, state.account, command.mailbox);
  const newName = mailboxNameFromWire(command.newName, utf8Names(ctx.enabled));
  if (newName === 'INBOX' || (await store.getMailbox(state.account, newName))) throw no('Target mailbox exists', 'ALREADYEXISTS');
  if (source.name !== 'INBOX') {
    const renamed = await store.renameMailbox(state.account, source.name, newName);
    // RFC 9051 §7.3.1: the new name's LIST response with OLDNAME, for an IMAP4rev2 session.
    if (isRev2(ctx.enabled)) await ctx.send(await mailboxListResponse(ctx, state.account, renamed, source.name));
    return { text: 'RENAME completed' };
  }
  const target = await store.createMailbox(state.account, newName);
  const uids = (await store.listMessageStates(source.id, source.uidNext)).filter((s) => !s.expunged).map((s) => s.uid);
  const pairs = await copyMessages(store, state.account, source.id, uids, target);
  await store.expunge(state.account, source.id, pairs.map(([from]) => from));
  return { text: 'RENAME completed' };
}
