// RFC 3501 §6.3.3 CREATE: a trailing delimiter only declares intent to have inferiors; missing
// superiors are created too ("SHOULD create any superior hierarchical names that are needed").
// RFC 6154 §3 CREATE-SPECIAL-USE: `(USE (\Archive))` marks the new mailbox; an attribute we do not
// keep (\All, \Flagged, several at once) is NO [USEATTR].
// Nothing created here is subscribed: SUBSCRIBE is the client's choice (§6.3.6, §6.3.9).
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { mailboxNameFromWire, utf8Names } from '../names.ts';
import type { UserState } from '../state.ts';
import type { SpecialUse } from '../../../core/store/types.ts';

/** The special uses a mailbox can carry here (one each: Mailbox.specialUse). */
const keptSpecialUses = new Set<string>(['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive']);

/** RFC 6154 §3: the one special use asked for, null for none; anything we cannot keep is NO [USEATTR]. */
function requestedSpecialUse(use: readonly string[]): SpecialUse | null {
  const wanted = [...new Set(use.map((u) => u.toLowerCase()))];
  if (wanted.length === 0) return null;
  const match = [...keptSpecialUses].find((u) => u.toLowerCase() === wanted[0]);
  if (wanted.length > 1 || !match) throw no('Special-use attribute not supported', 'USEATTR');
  return match as SpecialUse;
}

export async function create(command: CommandOf<'CREATE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const specialUse = requestedSpecialUse(command.use);
  const wire = command.mailbox.endsWith(DELIMITER) ? command.mailbox.slice(0, -1) : command.mailbox;
  const name = mailboxNameFromWire(wire, utf8Names(ctx.enabled));
  const { store } = ctx.services;
  if (name === 'INBOX' || (await store.getMailbox(state.account, name))) throw no('Mailbox already exists', 'ALREADYEXISTS');
  const levels = name.split(DELIMITER);
  for (let i = 1; i < levels.length; i++) {
    const superior = levels.slice(0, i).join(DELIMITER);
    if (!(await store.getMailbox(state.account, superior))) {
      await store.createMailbox(state.account, superior, null, { subscribed: false }).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'exists') throw err;
      });
    }
  }
  const created = await store.createMailbox(state.account, name, specialUse, { subscribed: false });
  // RFC 8474 §4.1: the new mailbox's MAILBOXID.
  return { text: 'CREATE completed', code: `MAILBOXID (${created.id})` };
}
