// The output half of RETR and TOP: open the blob read first (so a store failure can still
// answer -ERR), then "+OK" and the stuffed bytes. A failure after "+OK" cannot be reported in
// POP3, so the connection is dropped and the client sees a broken response, never a short one.
import type { Pop3Context } from '../context.ts';
import type { MaildropMessage } from '../maildrop.ts';
import { streamMessage } from '../message-output.ts';
import { ok, Pop3Error } from '../wire/responses.ts';

export async function sendMessage(ctx: Pop3Context, message: MaildropMessage, status: string, topLines?: number): Promise<void> {
  const headerOctets = Math.min(message.bodyStart, message.size);
  // TOP n 0 is exactly the header block: one ranged GET of it. Otherwise read from the start and
  // stop after n body lines, which aborts the rest of the GET.
  const range = topLines === 0 ? { start: 0, end: headerOctets } : undefined;
  let source;
  try {
    source = await ctx.blobs.getStream(message.blobKey, range);
  } catch (err) {
    ctx.services.log.error('pop3.blob-read-failed', { blobKey: message.blobKey, err });
    throw new Pop3Error('Message temporarily unavailable', 'SYS/TEMP');
  }
  try {
    await ctx.reply(ok(status));
    await streamMessage(source, ctx.send, {
      ...(topLines ? { headerOctets, bodyLines: topLines } : {}),
      stillWanted: () => ctx.isOpen(),
    });
  } catch (err) {
    source.destroy();
    ctx.abort('pop3.blob-stream-failed', err);
  }
}
