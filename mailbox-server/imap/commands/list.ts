// RFC 3501 §6.3.8 LIST (LSUB, §6.3.9, is in lsub.ts), with RFC 3348 CHILDREN, RFC 6154 SPECIAL-USE attributes,
// RFC 5258 LIST-EXTENDED (selection options SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE, return
// options SUBSCRIBED CHILDREN SPECIAL-USE, several patterns, CHILDINFO) and RFC 5819 LIST-STATUS.
// Patterns are matched against the wire (modified UTF-7) names (../list-pattern.ts); INBOX is
// case-insensitive.
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { Mailbox } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad } from '../errors.ts';
import { MailboxPattern } from '../list-pattern.ts';
import { mailboxNameToWire, mailboxNameValue, utf8Names } from '../names.ts';
import { checkRev2StatusItems, isRev2 } from '../rev2.ts';
import type { UserState } from '../state.ts';
import { atom, untagged } from '../wire/writer.ts';
import { statusResponse } from './status.ts';

/** Entries matched between turns of the event loop: a long listing must not hold up other sessions. */
export const ENTRIES_PER_TURN = 256;
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface Listed {
  readonly name: string;
  readonly wire: string;
  readonly mailbox: Mailbox | null;
  readonly hasChildren: boolean;
}

/** Every mailbox plus the superiors that exist only as a path (shown \Noselect when matched by "%"). */
export function listable(mailboxes: readonly Mailbox[], utf8 = false): Listed[] {
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
    name,
    wire: mailboxNameToWire(name, utf8),
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
  const selection = listSelection(command.selectOptions);
  checkRev2StatusItems(ctx.enabled, command.returnOptions.status);
  const rev2 = isRev2(ctx.enabled);
  const showSubscribed = selection.criteria.includes('SUBSCRIBED') || command.returnOptions.subscribed;
  const patterns = command.patterns.map((p) => MailboxPattern.compile(command.reference, p));
  const mailboxes = await ctx.services.store.listMailboxes(state.account);
  const utf8 = utf8Names(ctx.enabled);
  const entries = listable(mailboxes, utf8);
  const matched = (entry: Listed) => patterns.some((p) => p.matches(entry.wire));
  for (const [i, entry] of entries.entries()) {
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    if (!matched(entry)) continue;
    const { mailbox } = entry;
    const meets = selection.criteria.every((c) => meetsCriterion(c, mailbox));
    // RFC 5258 §3.5: with RECURSIVEMATCH a name is also listed when a descendant the patterns do
    // not reach meets the criteria, and CHILDINFO says which criteria its descendants meet.
    const childInfo = selection.recursive ? selection.criteria.filter((c) => descendants(entries, entry).some((d) => !matched(d) && meetsCriterion(c, d.mailbox))) : [];
    if (!meets && childInfo.length === 0) continue;
    const attributes: string[] = [];
    // RFC 9051 §7.3.1: \NonExistent (which implies \Noselect) for a listed name with no mailbox.
    if (!mailbox) attributes.push(rev2 ? '\\NonExistent' : '\\Noselect');
    attributes.push(entry.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (mailbox?.specialUse) attributes.push(mailbox.specialUse);
    if (showSubscribed && mailbox?.subscribed) attributes.push('\\Subscribed');
    const extended = childInfo.length > 0 ? [['CHILDINFO', childInfo]] : [];
    await ctx.send(untagged(atom('LIST'), attributes.map(atom), DELIMITER, mailboxNameValue(entry.name, utf8), ...extended));
    if (command.returnOptions.status && mailbox) await ctx.send(await statusResponse(ctx, mailbox, command.returnOptions.status));
  }
  return { text: 'LIST completed' };
}

type ListCriterion = 'SUBSCRIBED' | 'SPECIAL-USE';

/** RFC 5258 §3.1 selection options: the criteria a listed name meets; REMOTE changes nothing here (no remote mailboxes). */
function listSelection(options: readonly string[]): { criteria: ListCriterion[]; recursive: boolean } {
  const criteria = options.filter((o): o is ListCriterion => o === 'SUBSCRIBED' || o === 'SPECIAL-USE');
  const recursive = options.includes('RECURSIVEMATCH');
  // §3.1: RECURSIVEMATCH alone (or with only REMOTE) is a syntax error.
  if (recursive && criteria.length === 0) throw bad('RECURSIVEMATCH needs another selection option');
  return { criteria: [...new Set(criteria)], recursive };
}

function meetsCriterion(criterion: ListCriterion, mailbox: Mailbox | null): boolean {
  return criterion === 'SUBSCRIBED' ? mailbox?.subscribed === true : mailbox?.specialUse != null;
}

/** The names below `entry` (entries are sorted, but INBOX first, so scan them all). */
function descendants(entries: readonly Listed[], entry: Listed): Listed[] {
  if (!entry.hasChildren) return [];
  const prefix = `${entry.wire}${DELIMITER}`;
  return entries.filter((e) => e.wire.startsWith(prefix));
}
