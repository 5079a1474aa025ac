// COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951) both ways on one connection. Client bytes
// are inflated as they arrive; responses are deflated and ended with a sync flush (§4) at the end
// of each burst, so the client can act on every response without waiting for more.
import type { Socket } from 'node:net';
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

/**
 * Our deflater's size, see docs/decisions/0018-imap-compress.md: an 8 KiB window and memLevel 7
 * (zlib's formula: 96 KiB of state instead of 256 KiB). The inflater must take the client's window,
 * up to 32 KiB (RFC 1951 allows any size and the client chooses).
 */
const DEFLATE_WINDOW_BITS = 13;
const DEFLATE_MEM_LEVEL = 7;
const DEFLATE_LEVEL = 6;
/** Output buffer of each zlib stream. */
const CHUNK_OCTETS = 8 * 1024;

export class DeflateLink {
  /** Client bytes, inflated: read from here instead of the socket. */
  readonly input: InflateRaw;
  /** Response bytes go here instead of the socket; deflated and written to the socket. */
  readonly output: DeflateRaw;
  private deflating = false;
  private unflushed = false;
  private flushQueued = false;

  /** Starts inflating what `socket` delivers from now on. The output is used only after `startDeflating`. */
  constructor(private readonly socket: Socket) {
    // Z_SYNC_FLUSH on every chunk: whatever a chunk completes is handed on at once, never held
    // back for more input (the partial-flush stall that made mox turn its COMPRESS off).
    this.input = createInflateRaw({ windowBits: 15, flush: constants.Z_SYNC_FLUSH, chunkSize: CHUNK_OCTETS });
    this.output = createDeflateRaw({ windowBits: DEFLATE_WINDOW_BITS, memLevel: DEFLATE_MEM_LEVEL, level: DEFLATE_LEVEL, chunkSize: CHUNK_OCTETS });
    socket.pipe(this.input);
  }

  /** From now on responses are deflated (RFC 4978 §3: right after the tagged OK). */
  startDeflating(): void {
    this.deflating = true;
    this.output.pipe(this.socket);
  }

  /**
   * Writes response bytes; a sync flush follows once the current burst of writes is done (the same
   * turn of the event loop), so several responses written together share one flush marker. Returns
   * false when the deflater is congested: wait for its 'drain'.
   */
  write(chunk: Buffer): boolean {
    // Until the tagged OK of COMPRESS is out, responses go as they are.
    if (!this.deflating) return this.socket.write(chunk);
    this.unflushed = true;
    const ok = this.output.write(chunk);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
    return ok;
  }

  private flush(): void {
    this.flushQueued = false;
    // An empty flush would still send a marker (00 00 FF FF): some clients (imapflow) treat bytes
    // right after COMPRESS's OK, before their inflater is in place, as a broken session.
    if (!this.unflushed || this.output.writableEnded || this.output.destroyed) return;
    this.unflushed = false;
    this.output.flush(constants.Z_SYNC_FLUSH);
  }

  /** The stream whose 'drain' a congested `write` waits for. */
  get congestion(): NodeJS.EventEmitter {
    return this.deflating ? this.output : this.socket;
  }

  /** Ends the deflate stream (its final block), which then ends the socket. */
  end(): void {
    this.socket.unpipe(this.input);
    this.input.destroy();
    if (!this.deflating) {
      this.output.destroy();
      this.socket.end();
      return;
    }
    this.output.end();
  }
}
