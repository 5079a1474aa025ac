// The output half of RETR and TOP: open the blob read first (so a store failure can still
// answer -ERR), then "+OK" and the stuffed bytes. A failure after "+OK" cannot be reported in
// POP3, so the connection is dropped and the client sees a broken response, never a short one.
import { Readable } from 'node:stream';
import { copyReads } from '../../../core/header-prefix.ts';
import type { Pop3Context } from '../context.ts';
import type { MaildropMessage } from '../maildrop.ts';
import { streamMessage } from '../message-output.ts';
import { READ_WHOLE_UP_TO_OCTETS } from '../retr-read-ahead.ts';
import { ok, Pop3Error } from '../wire/responses.ts';

export async function sendMessage(ctx: Pop3Context, message: MaildropMessage, status: string, topLines?: number): Promise<void> {
  const headerOctets = Math.min(message.bodyStart, message.size);
  let source: Readable;
  try {
    source = await openMessage(ctx, message, headerOctets, topLines);
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

/**
 * RETR of a small message: read whole (read ahead if pipelined, or from the task's cache), so the
 * S3 connection is free at once. TOP n 0 is exactly the header block: one ranged GET of it.
 * Otherwise a stream from the start; TOP stops after n body lines, which aborts the rest of the GET.
 */
async function openMessage(ctx: Pop3Context, message: MaildropMessage, headerOctets: number, topLines: number | undefined): Promise<Readable> {
  // The copy as served: its header prefix, if any, then the blob (core/header-prefix.ts).
  const blobs = copyReads(ctx.blobs, message);
  if (topLines === undefined) {
    const early = ctx.readAhead.take(message);
    if (early) return Readable.from([await early]);
    if (message.size <= READ_WHOLE_UP_TO_OCTETS) return Readable.from([await blobs.getRange(message.blobKey, 0, message.size)]);
  }
  const range = topLines === 0 ? { start: 0, end: headerOctets } : undefined;
  return blobs.getStream(message.blobKey, range);
}
