// RFC 3501 §6.4.6 STORE and §6.4.8 UID STORE; RFC 7162 §3.1.3 UNCHANGEDSINCE and [MODIFIED].
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { resolveMessageSet } from '../message-set.ts';
import { compactSequenceSet } from '../sequence-set.ts';
import type { SelectedState } from '../state.ts';
import { atom, type ImapValue, untagged } from '../wire/writer.ts';

export async function store(command: CommandOf<'STORE'>, ctx: CommandContext, state: SelectedState): Promise<Completion> {
  const { view } = state;
  if (view.readOnly) throw no('Mailbox is read-only', 'READ-ONLY');
  await ctx.syncSelected(command.uid);
  if (command.unchangedSince !== null) ctx.enabled.add('CONDSTORE');
  const condstore = ctx.enabled.has('CONDSTORE');
  const uids = resolveMessageSet(view, command.sequence, command.uid).filter((uid) => !view.isExpunged(uid));
  const result = await ctx.services.store.setFlags(
    state.account,
    view.mailbox.id,
    uids,
    { op: command.action, flags: [...command.flags] },
    command.unchangedSince !== null ? { unchangedSince: Number(command.unchangedSince) } : {},
  );
  for (const u of result.updated) view.noteFlags(u.uid, u.flags, u.modSeq);
  // RFC 3501 §7.2.6: a keyword new to the mailbox is announced before the FETCH that shows it.
  await ctx.send(...view.announceKeywords(result.updated.map((u) => u.flags)));
  const updated = new Set(result.updated.map((u) => u.uid));
  const modified = new Set(result.modified);
  // Keywords $Junk and $NotJunk teach the junk filter (mailbox-server/imap/junk-training.ts).
  ctx.services.junkTraining?.afterStore(state.account, view.mailbox, { op: command.action, flags: [...command.flags] }, uids.filter((uid) => !modified.has(uid)));
  for (const uid of uids) {
    if (modified.has(uid)) continue;
    // .SILENT suppresses the echo, except that RFC 7162 §3.1.3 wants MODSEQ for what UNCHANGEDSINCE changed.
    const silent = command.silent && !(command.unchangedSince !== null && updated.has(uid));
    if (silent) continue;
    const current = view.stateOf(uid);
    if (!current) continue;
    const items: ImapValue[] = [];
    if (!command.silent) items.push(atom('FLAGS'), current.flags.map(atom));
    if (command.uid) items.push(atom('UID'), uid);
    if (condstore) items.push(atom('MODSEQ'), [current.modSeq]);
    await ctx.send(untagged(view.msnOf(uid), atom('FETCH'), items));
  }
  if (modified.size > 0) {
    const numbers = command.uid ? [...modified] : [...modified].map((uid) => view.msnOf(uid));
    return { text: 'Conditional STORE failed for some messages', code: `MODIFIED ${compactSequenceSet(numbers)}` };
  }
  return { text: `${command.uid ? 'UID ' : ''}STORE completed` };
}
