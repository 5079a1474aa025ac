// RFC 3501 §6.3.9 LSUB: exactly the subscribed names matching the pattern, and, for a subscribed
// name the pattern does not reach ("%" stops at a level), each unsubscribed superior it does
// reach, flagged \Noselect ("foo/bar" subscribed, "foo" not: LSUB "" "%" returns foo \Noselect).
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { MailboxPattern } from '../list-pattern.ts';
import { mailboxNameToWire, mailboxNameValue, utf8Names } from '../names.ts';
import type { UserState } from '../state.ts';
import { atom, untagged } from '../wire/writer.ts';
import { ENTRIES_PER_TURN, nextTurn } from './list.ts';

/** The LSUB answer as (wire name, \Noselect) pairs in name order, INBOX first. */
export function subscribedListing(subscribed: readonly string[], pattern: MailboxPattern, utf8 = false): Array<{ readonly name: string; readonly noselect: boolean }> {
  const names = new Set(subscribed);
  const found = new Map<string, boolean>();
  for (const name of names) {
    const wire = mailboxNameToWire(name, utf8);
    if (pattern.matches(wire)) {
      found.set(name, false);
      continue;
    }
    const levels = name.split(DELIMITER);
    for (let i = 1; i < levels.length; i++) {
      const superior = levels.slice(0, i).join(DELIMITER);
      if (!names.has(superior) && pattern.matches(mailboxNameToWire(superior, utf8))) found.set(superior, true);
    }
  }
  const order = (a: string, b: string) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a < b ? -1 : a > b ? 1 : 0);
  return [...found.keys()].sort(order).map((name) => ({ name, noselect: found.get(name)! }));
}

export async function lsub(command: CommandOf<'LSUB'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const pattern = MailboxPattern.compile(command.reference, command.pattern);
  const mailboxes = await ctx.services.store.listMailboxes(state.account);
  const utf8 = utf8Names(ctx.enabled);
  const listing = subscribedListing(mailboxes.filter((m) => m.subscribed).map((m) => m.name), pattern, utf8);
  for (const [i, entry] of listing.entries()) {
    if (i % ENTRIES_PER_TURN === ENTRIES_PER_TURN - 1) await nextTurn();
    await ctx.send(untagged(atom('LSUB'), entry.noselect ? [atom('\\Noselect')] : [], DELIMITER, mailboxNameValue(entry.name, utf8)));
  }
  return { text: 'LSUB completed' };
}
