// RFC 3501 §6.3.8 LIST and §6.3.9 LSUB, with RFC 3348 CHILDREN, RFC 6154 SPECIAL-USE attributes,
// and the RFC 5258 LIST-EXTENDED selection/return options the parser accepts (RFC 5819 STATUS).
// Patterns are matched against the wire (modified UTF-7) names (../list-pattern.ts); INBOX is
// case-insensitive.
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { Mailbox } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { MailboxPattern } from '../list-pattern.ts';
import { mailboxNameToWire } from '../names.ts';
import type { UserState } from '../state.ts';
import { atom, untagged } from '../wire/writer.ts';
import { statusResponse } from './status.ts';

/** Entries matched between turns of the event loop: a long listing must not hold up other sessions. */
const ENTRIES_PER_TURN = 256;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Listed {
  readonly wire: string;
  readonly mailbox: Mailbox | null;
  readonly hasChildren: boolean;
}

/** Every mailbox plus the superiors that exist only as a path (shown \Noselect when matched by "%"). */
function listable(mailboxes: readonly Mailbox[]): Listed[] {
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const names = new Set<string>();
  // A name has children exactly when it is the superior of another: one pass, not a pairwise scan.
  const parents = new Set<string>();
  for (const m of mailboxes) {
    const levels = m.name.split(DELIMITER);
    for (let i = 1; i <= levels.length; i++) names.add(levels.slice(0, i).join(DELIMITER));
    for (let i = 1; i < levels.length; i++) parents.add(levels.slice(0, i).join(DELIMITER));
  }
  const all = [...names].sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return all.map((name) => ({
    wire: mailboxNameToWire(name),
    mailbox: byName.get(name) ?? null,
    hasChildren: parents.has(name),
  }));
}

export async function list(command: CommandOf<'LIST'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and the root.
  if (command.patterns.length === 1 && command.patterns[0] === '') {
    await ctx.send(untagged(atom('LIST'), [atom('\\Noselect')], DELIMITER, ''));
    return { text: 'LIST completed' };
  }
  const subscribedOnly = command.selectOptions.includes('SUBSCRIBED');
  const specialUseOnly = command.selectOptions.includes('SPECIAL-USE');
  const showSubscribed = subscribedOnly || command.returnOptions.subscribed;
  const patterns = command.patterns.map((p) => MailboxPattern.compile(command.reference, p));
  const mailboxes = await ctx.services.store.listMailboxes(state.account);
  const entries = listable(mailboxes);
  for (const [i, entry] of entries.entries()) {
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    if (!patterns.some((p) => p.matches(entry.wire))) continue;
    const { mailbox } = entry;
    if (subscribedOnly && !mailbox?.subscribed) continue;
    if (specialUseOnly && !mailbox?.specialUse) continue;
    const attributes: string[] = [];
    if (!mailbox) attributes.push('\\Noselect');
    attributes.push(entry.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (mailbox?.specialUse) attributes.push(mailbox.specialUse);
    if (showSubscribed && mailbox?.subscribed) attributes.push('\\Subscribed');
    await ctx.send(untagged(atom('LIST'), attributes.map(atom), DELIMITER, entry.wire));
    if (command.returnOptions.status && mailbox) await ctx.send(await statusResponse(ctx, mailbox, command.returnOptions.status));
  }
  return { text: 'LIST completed' };
}

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
