// RFC 3501 §6.3.2 EXAMINE: SELECT read-only ([READ-ONLY], no flag changes, \Recent not claimed).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import type { UserState } from '../state.ts';
import { openMailbox } from './select.ts';

export async function examine(command: CommandOf<'EXAMINE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  return openMailbox(command, ctx, state);
}
