// Streams message bytes into a POP3 multi-line response (RFC 1939 §3): a "." starting a line is
// doubled, and the end guarantees CRLF before the terminating ".". State is a couple of flags,
// so a message of any size streams through in the chunks S3 gives us.
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const terminator = Buffer.from('.\r\n');
const crlfTerminator = Buffer.from('\r\n.\r\n');

export class DotStuffer {
  /** The next byte starts a line (true at the start of the response body). */
  private atLineStart = true;
  private lastByte = -1;
  private previousByte = -1;

  /** The stuffed form of the next piece of the message. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const pieces: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.atLineStart && b === DOT) {
        pieces.push(chunk.subarray(start, i), terminator.subarray(0, 1));
        start = i;
      }
      this.atLineStart = b === LF;
    }
    pieces.push(chunk.subarray(start));
    this.previousByte = chunk.length > 1 ? chunk[chunk.length - 2]! : this.lastByte;
    this.lastByte = chunk[chunk.length - 1]!;
    return pieces.length === 1 ? chunk : Buffer.concat(pieces);
  }

  /** The end of the response: CRLF if the message did not end with one, then ".\r\n". */
  end(): Buffer {
    const endsWithCrlf = this.lastByte === LF && this.previousByte === CR;
    const noContent = this.lastByte === -1;
    return endsWithCrlf || noContent ? terminator : crlfTerminator;
  }
}

/** The same as a stream: pipe a blob's body through it into the socket. */
export function createDotStuffStream(): Transform {
  const stuffer = new DotStuffer();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      callback(null, stuffer.push(chunk));
    },
    flush(callback: TransformCallback) {
      callback(null, stuffer.end());
    },
  });
}
