// Message bodies for RETR and TOP (RFC 1939 §7): bytes from the blob store streamed through the
// dot-stuffer to the client chunk by chunk, so no large message is ever held whole in memory
// (small ones are read whole, see commands/send-message.ts).
import type { Readable } from 'node:stream';
import { DotStuffer } from './wire/dot-stuffer.ts';

/** Where bytes go: resolves once the client side can take more (socket back-pressure). */
export type ByteSink = (chunk: Buffer) => Promise<void>;

const LF = 0x0a;

/**
 * Copies `source` to `sink` dot-stuffed, ending with the terminating ".". With `bodyLines`,
 * stops after the header block (the first `headerOctets` bytes) and that many body lines
 * (RFC 1939 §7 TOP) and destroys the source, which aborts the rest of the ranged GET.
 * `stillWanted` lets a closed session stop reading early.
 */
export async function streamMessage(
  source: Readable,
  sink: ByteSink,
  options: { headerOctets?: number; bodyLines?: number; stillWanted?: () => boolean } = {},
): Promise<void> {
  const stuffer = new DotStuffer();
  const limited = options.bodyLines !== undefined;
  let headerLeft = options.headerOctets ?? 0;
  let linesLeft = options.bodyLines ?? 0;
  try {
    for await (const data of source) {
      if (options.stillWanted && !options.stillWanted()) return;
      let chunk = data as Buffer;
      if (limited) {
        const cut = cutAfterLines(chunk, headerLeft, linesLeft);
        headerLeft = Math.max(0, headerLeft - chunk.length);
        linesLeft = cut.linesLeft;
        chunk = cut.piece;
        await sink(stuffer.push(chunk));
        if (cut.done) break;
      } else {
        await sink(stuffer.push(chunk));
      }
    }
  } finally {
    source.destroy();
  }
  await sink(stuffer.end());
}

/** The part of `chunk` that still belongs to the TOP output, and whether the output is complete. */
function cutAfterLines(chunk: Buffer, headerLeft: number, linesLeft: number): { piece: Buffer; linesLeft: number; done: boolean } {
  if (headerLeft >= chunk.length) return { piece: chunk, linesLeft, done: false };
  if (linesLeft === 0) return { piece: chunk.subarray(0, headerLeft), linesLeft, done: true };
  let pos = headerLeft;
  while (pos < chunk.length) {
    const lf = chunk.indexOf(LF, pos);
    if (lf === -1) return { piece: chunk, linesLeft, done: false };
    pos = lf + 1;
    linesLeft -= 1;
    if (linesLeft === 0) return { piece: chunk.subarray(0, pos), linesLeft, done: true };
  }
  return { piece: chunk, linesLeft, done: false };
}
