// RFC 3501 §6.3.1 SELECT (EXAMINE, §6.3.2, is the read-only form in examine.ts and shares
// openMailbox); RFC 7162 §3.2.5 HIGHESTMODSEQ, the CONDSTORE parameter and QRESYNC
// (../qresync.ts). SELECT claims the messages no session has seen yet as \Recent for this one
// (RFC 3501 §2.3.2, mailbox-view.ts).
// IMAP4rev2 sessions (RFC 9051 §6.3.2): [CLOSED] for the mailbox left, no RECENT and no UNSEEN
// code, no \Recent, and a LIST response for the mailbox.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad } from '../errors.ts';
import { MailboxView } from '../mailbox-view.ts';
import { qresyncResponses } from '../qresync.ts';
import { resolveMailbox } from '../resolve.ts';
import { isRev2, mailboxListResponse } from '../rev2.ts';
import type { UserState } from '../state.ts';
import { atom, statusLine, untagged } from '../wire/writer.ts';

export async function select(command: CommandOf<'SELECT'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  return openMailbox(command, ctx, state);
}

/** SELECT and EXAMINE: opens the mailbox read-write or read-only and announces its state. */
export async function openMailbox(command: CommandOf<'SELECT' | 'EXAMINE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  // RFC 7162 §3.2.5: the QRESYNC parameter without ENABLE QRESYNC is BAD.
  if (command.qresync && !ctx.enabled.has('QRESYNC')) throw bad('QRESYNC is not enabled');
  const rev2 = isRev2(ctx.enabled);
  // RFC 7162 §3.2.11, RFC 9051 §7.1: [CLOSED] separates the old mailbox's responses from the new one's.
  if (state.kind === 'selected' && (ctx.enabled.has('QRESYNC') || rev2)) await ctx.send(statusLine(null, 'OK', 'Previous mailbox closed', 'CLOSED'));
  // The mailbox left stays shared while the new one opens: it may be the same one.
  const retained = state.kind === 'selected' ? state.view.retainShared() : null;
  try {
    // §6.3.1: a SELECT that fails leaves the session authenticated, with no mailbox selected.
    ctx.setState({ kind: 'authenticated', account: state.account });
    return await selectMailbox(command, ctx, state);
  } finally {
    retained?.();
  }
}

async function selectMailbox(command: CommandOf<'SELECT' | 'EXAMINE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  if (command.condstore) ctx.enabled.add('CONDSTORE');
  const rev2 = isRev2(ctx.enabled);
  const mailbox = await resolveMailbox(ctx, state.account, command.mailbox);
  const readOnly = command.name === 'EXAMINE';
  // The task's states of the mailbox (../../mailbox-states.ts): read once, or, when another session
  // has it open, brought up to date from the head just read. Tombstones included: QRESYNC reads
  // its VANISHED (EARLIER) from them.
  const [shared, recent] = await Promise.all([
    ctx.services.mailboxStates.open(ctx.services.store, mailbox),
    // RFC 9051 has no \Recent: a rev2 session neither shows it nor claims it from rev1 sessions.
    rev2 ? null : MailboxView.recentAtOpen(ctx.services.store, mailbox, readOnly),
  ]);
  const view = MailboxView.attach(shared, mailbox, readOnly, recent);
  try {
    await announce(command, ctx, state, view);
  } catch (err) {
    view.release();
    throw err;
  }
  ctx.setState({ kind: 'selected', account: state.account, view });
  return { text: `${command.name} completed`, code: readOnly ? 'READ-ONLY' : 'READ-WRITE' };
}

/** The untagged responses of SELECT and EXAMINE (RFC 3501 §6.3.1, RFC 7162 §3.2.5, RFC 9051 §6.3.2). */
async function announce(command: CommandOf<'SELECT' | 'EXAMINE'>, ctx: CommandContext, state: UserState, view: MailboxView): Promise<void> {
  const rev2 = isRev2(ctx.enabled);
  const { mailbox } = view;
  let firstUnseen = 0;
  view.allUids().forEach((uid, i) => {
    if (firstUnseen === 0 && !view.stateOf(uid)!.flags.includes('\\Seen')) firstUnseen = i + 1;
  });
  const listed = rev2 ? [await mailboxListResponse(ctx, state.account, mailbox)] : [];
  await ctx.send(
    ...view.flagListResponses(),
    untagged(view.exists, atom('EXISTS')),
    ...(rev2 ? [] : [untagged(view.recentCount, atom('RECENT'))]),
    ...(firstUnseen > 0 && !rev2 ? [statusLine(null, 'OK', 'First unseen', `UNSEEN ${firstUnseen}`)] : []),
    statusLine(null, 'OK', 'UIDs valid', `UIDVALIDITY ${view.uidValidity}`),
    statusLine(null, 'OK', 'Predicted next UID', `UIDNEXT ${view.nextUid}`),
    statusLine(null, 'OK', 'Highest', `HIGHESTMODSEQ ${view.modSeq}`),
    // RFC 8474 §4.1
    statusLine(null, 'OK', 'Ok', `MAILBOXID (${mailbox.id})`),
    ...listed,
    ...(command.qresync ? qresyncResponses(view, view.storedStates(), command.qresync) : []),
  );
}
