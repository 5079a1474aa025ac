// RFC 2177 IDLE: "+ idling", then the selected mailbox is watched by the server's change watcher
// (one GetItem per mailbox per interval, shared by every session idling on it); when it reports a
// change this session resynchronises its own view and the changes go out, until DONE.
// While idling the server also says `* OK Still here` every idleKeepaliveMs (an untagged status may
// come at any time, RFC 3501 §7.1): an idling client sends nothing and re-issues IDLE only every
// 29 minutes (RFC 2177 §3), while a load balancer or NAT drops a flow idle for longer than its
// timeout without telling either end.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad } from '../errors.ts';
import type { UserState } from '../state.ts';
import { continuation, statusLine } from '../wire/writer.ts';

export async function idle(_command: CommandOf<'IDLE'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  await ctx.send(continuation('idling'));
  const stop = new AbortController();
  const line = ctx.readClientLine(stop.signal);
  let finished = false;
  let woken = false;
  let keepaliveDue = false;
  let wake: (() => void) | null = null;
  // A wake-up like a mailbox change, so the one loop below does every write, in order.
  const keepalive = setInterval(() => {
    keepaliveDue = true;
    wake?.();
  }, ctx.services.idleKeepaliveMs);
  void line.finally(() => {
    finished = true;
    wake?.();
  });
  // IDLE in the authenticated state has no mailbox to watch: it only waits for DONE.
  const view = state.kind === 'selected' ? state.view : null;
  const watch = view
    ? ctx.services.watcher.subscribe(view.mailbox.account, view.mailbox.id, view.watchMark, () => {
        woken = true;
        wake?.();
      })
    : null;
  try {
    while (!finished) {
      if (!woken && !keepaliveDue) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (finished) break;
      if (keepaliveDue) {
        keepaliveDue = false;
        await ctx.send(statusLine(null, 'OK', 'Still here'));
      }
      if (!woken || !view || !watch) continue;
      woken = false;
      await ctx.syncSelected(true);
      // What the view now holds; a view still settling (an index lagging behind highestModSeq) is
      // woken again at the next tick.
      watch.reflects(view.watchMark);
    }
  } finally {
    clearInterval(keepalive);
    watch?.unsubscribe();
    stop.abort();
  }
  const done = await line;
  if (done === null) return { text: 'IDLE terminated' };
  if (done.toString('latin1').trim().toUpperCase() !== 'DONE') throw bad('Expected DONE');
  return { text: 'IDLE terminated' };
}
