// RFC 3501 §6.3.3 CREATE: a trailing delimiter only declares intent to have inferiors; missing
// superiors are created too ("SHOULD create any superior hierarchical names that are needed").
import { DELIMITER } from '../../../core/store/mailbox-names.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { mailboxNameFromWire } from '../names.ts';
import type { UserState } from '../state.ts';

export async function create(command: CommandOf<'CREATE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const wire = command.mailbox.endsWith(DELIMITER) ? command.mailbox.slice(0, -1) : command.mailbox;
  const name = mailboxNameFromWire(wire);
  const { store } = ctx.services;
  if (name === 'INBOX' || (await store.getMailbox(state.account, name))) throw no('Mailbox already exists', 'ALREADYEXISTS');
  const levels = name.split(DELIMITER);
  for (let i = 1; i < levels.length; i++) {
    const superior = levels.slice(0, i).join(DELIMITER);
    if (!(await store.getMailbox(state.account, superior))) {
      await store.createMailbox(state.account, superior).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'exists') throw err;
      });
    }
  }
  await store.createMailbox(state.account, name);
  return { text: 'CREATE completed' };
}
