// RFC 2177 IDLE: "+ idling", then the selected mailbox is resynchronised every idlePollMs (one
// GetItem of the mailbox item when nothing changed) and changes go out as they happen, until DONE.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad } from '../errors.ts';
import { continuation } from '../wire/writer.ts';

export async function idle(_command: CommandOf<'IDLE'>, ctx: CommandContext): Promise<Completion> {
  await ctx.send(continuation('idling'));
  const stop = new AbortController();
  const line = ctx.readClientLine(stop.signal);
  let finished = false;
  void line.finally(() => {
    finished = true;
  });
  try {
    while (!finished) {
      await Promise.race([line, new Promise((resolve) => setTimeout(resolve, ctx.services.idlePollMs))]);
      if (!finished) await ctx.syncSelected(true);
    }
  } finally {
    stop.abort();
  }
  const done = await line;
  if (done === null) return { text: 'IDLE terminated' };
  if (done.toString('latin1').trim().toUpperCase() !== 'DONE') throw bad('Expected DONE');
  return { text: 'IDLE terminated' };
}
