// RFC 3501 §6.3.10 STATUS, with RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 7889 APPENDLIMIT,
// RFC 9051 DELETED (no RECENT for an IMAP4rev2 session, ../rev2.ts), RFC 9208 §4.1.4 DELETED-STORAGE. Counts come from the projection of message states (no MIME index read).
import { FIRST_UID } from '../../../core/store/recent.ts';
import type { Mailbox, MessageState } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import type { MailboxView } from '../mailbox-view.ts';
import { mailboxNameValue, utf8Names } from '../names.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';
import { checkRev2StatusItems } from '../rev2.ts';
import type { StatusItem } from '../wire/ast.ts';
import { atom, untagged, type ImapValue } from '../wire/writer.ts';
import { storageUnits } from './quota.ts';

/** The untagged STATUS response of one mailbox; shared with LIST-STATUS. */
export async function statusResponse(ctx: CommandContext, mailbox: Mailbox, items: readonly StatusItem[], selected?: MailboxView): Promise<Buffer> {
  const needsMessages = items.some((i) => i === 'MESSAGES' || i === 'RECENT' || i === 'UNSEEN' || i === 'SIZE' || i === 'DELETED' || i === 'DELETED-STORAGE');
  const live = needsMessages ? (await messageStates(ctx, mailbox)).filter((s) => !s.expunged) : [];
  const values: ImapValue[] = [];
  for (const item of items) {
    values.push(atom(item));
    switch (item) {
      case 'MESSAGES':
        values.push(live.length);
        break;
      case 'RECENT':
        // RFC 3501 §2.3.2: the messages no session has been told of yet (core/store/recent.ts),
        // and, for the mailbox this session has selected read-write, those recent to it.
        values.push(live.filter((s) => s.uid >= (mailbox.recentUpTo ?? FIRST_UID)).length + (selected && !selected.readOnly ? selected.recentCount : 0));
        break;
      case 'UIDNEXT':
        values.push(mailbox.uidNext);
        break;
      case 'UIDVALIDITY':
        values.push(mailbox.uidValidity);
        break;
      case 'UNSEEN':
        values.push(live.filter((s) => !s.flags.includes('\\Seen')).length);
        break;
      case 'HIGHESTMODSEQ':
        values.push(mailbox.highestModSeq);
        break;
      case 'SIZE':
        values.push(live.reduce((n, s) => n + s.size, 0));
        break;
      case 'APPENDLIMIT':
        values.push(ctx.services.appendLimit);
        break;
      case 'DELETED':
        values.push(live.filter((s) => s.flags.includes('\\Deleted')).length);
        break;
      // RFC 8474 §4.2 (../object-id.ts).
      case 'MAILBOXID':
        values.push([atom(mailbox.id)]);
        break;
      case 'DELETED-STORAGE':
        values.push(storageUnits(live.filter((s) => s.flags.includes('\\Deleted')).reduce((n, s) => n + s.size, 0)));
        break;
    }
  }
  return untagged(atom('STATUS'), mailboxNameValue(mailbox.name, utf8Names(ctx.enabled)), values);
}

/** The task's shared states when a session has the mailbox open (../../mailbox-states.ts), else a read of them. */
async function messageStates(ctx: CommandContext, mailbox: Mailbox): Promise<MessageState[]> {
  const { store, mailboxStates } = ctx.services;
  return (await mailboxStates.statesOf(store, mailbox)) ?? store.listMessageStates(mailbox.id, mailbox.uidNext);
}

export async function status(command: CommandOf<'STATUS'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  checkRev2StatusItems(ctx.enabled, command.items);
  const mailbox = await resolveMailbox(ctx, state.account, command.mailbox);
  const selected = state.kind === 'selected' && state.view.mailbox.id === mailbox.id ? state.view : undefined;
  await ctx.send(await statusResponse(ctx, mailbox, command.items, selected));
  return { text: 'STATUS completed' };
}
