// RFC 5161 ENABLE of CONDSTORE (RFC 7162 §3.1), QRESYNC (§3.2.3, which turns CONDSTORE on too),
// UTF8=ACCEPT (RFC 6855 §3) and IMAP4rev2 (RFC 9051 §6.3.1, ../rev2.ts).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { enabledSpelling, IMAP4REV2 } from '../rev2.ts';
import { atom, untagged } from '../wire/writer.ts';

const enableable = new Set(['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT', IMAP4REV2]);

export async function enable(command: CommandOf<'ENABLE'>, ctx: CommandContext): Promise<Completion> {
  const now: string[] = [];
  for (const name of command.capabilities.map((c) => c.toUpperCase())) {
    if (enableable.has(name) && !ctx.enabled.has(name)) {
      ctx.enabled.add(name);
      now.push(enabledSpelling(name));
      if (name === 'QRESYNC') ctx.enabled.add('CONDSTORE');
    }
  }
  await ctx.send(untagged(atom('ENABLED'), ...now.map(atom)));
  return { text: 'ENABLE completed' };
}
