// What every line-level test client (IMAP, POP3, SMTP, the Dovecot probe, the bulk and compressed
// IMAP clients) needs from its socket: the bytes received and not yet consumed, and a way to wait,
// with a deadline, until they hold what the protocol calls a whole answer. Each client says what
// "whole" means; this file waits.
import { connect as connectPlain, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { connect as connectTls } from 'node:tls';

export interface ConnectOptions {
  /** Implicit TLS; the test servers' certificates are self-signed. */
  readonly tls?: boolean;
  /** Another loopback address (127.0.0.2, ...) to stand for another client host. */
  readonly localAddress?: string;
}

/** Opens a connection to 127.0.0.1:`port` and resolves once it is established (and TLS is up). */
export async function connectSocket(port: number, options: ConnectOptions = {}): Promise<Socket> {
  const from = options.localAddress ? { localAddress: options.localAddress } : {};
  const socket = options.tls
    ? connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false, ...from })
    : connectPlain({ port, host: '127.0.0.1', ...from });
  await new Promise<void>((resolve, reject) => {
    socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/**
 * The offset just past one IMAP response (RFC 3501 §4.3, §7.5): its line, and after each line
 * ending in a literal `{n}` (or `{n+}`, RFC 7888) the n octets and the rest of the line; -1 while
 * it is not all there.
 */
export function endOfImapResponse(buffered: Buffer): number {
  let scanFrom = 0;
  for (;;) {
    const lf = buffered.indexOf('\r\n', scanFrom);
    if (lf === -1) return -1;
    const literal = /\{(\d+)\+?\}$/.exec(buffered.subarray(scanFrom, lf).toString('latin1'));
    if (!literal) return lf + 2;
    scanFrom = lf + 2 + Number(literal[1]);
    if (buffered.length < scanFrom) return -1;
  }
}

/** How much of the end of what is buffered `takeThrough` looks at. */
const TAIL_OCTETS = 1024;

export class SocketReader {
  /** What has arrived and not been taken, as it came: joined only when a caller needs one buffer. */
  private chunks: Buffer[] = [];
  private tail = '';
  private received = 0;
  private ended = false;
  private waiters: Array<() => void> = [];
  /** Settles when the peer has closed the connection. */
  readonly closed: Promise<void>;

  /**
   * Reads `source` (the socket itself, or a stream the socket is piped into, e.g. an inflater
   * once COMPRESS is on); the connection's end is the socket's close.
   */
  constructor(
    readonly socket: Socket,
    source: Readable = socket,
  ) {
    source.on('data', (data: Buffer) => {
      this.chunks.push(data);
      this.received += data.length;
      this.tail = (this.tail + data.toString('latin1')).slice(-TAIL_OCTETS);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  /** The peer has closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Every octet received on this connection so far, taken or not. */
  get bytesReceived(): number {
    return this.received;
  }

  /** What has arrived and not been taken, for diagnostics. */
  get unread(): string {
    return this.buffer.toString('latin1');
  }

  private get buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private keep(rest: Buffer): void {
    this.chunks = rest.length === 0 ? [] : [rest];
    this.tail = rest.subarray(-TAIL_OCTETS).toString('latin1');
  }

  /**
   * Waits until `end(buffered)` finds the end of a whole answer (an offset past its last byte,
   * or -1 for "not yet"), then takes and returns those bytes. Null when the connection closed
   * first; an error naming what was waiting after `timeoutMs`.
   */
  async take(end: (buffered: Buffer) => number, what: string, timeoutMs: number): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const buffered = this.buffer;
      const at = end(buffered);
      if (at >= 0) {
        this.keep(buffered.subarray(at));
        return buffered.subarray(0, at);
      }
      if (this.ended) return null;
      await this.waitForData(deadline, what);
    }
  }

  /**
   * For answers of many MiB: waits until the last KiB of what is buffered matches `end` (so the
   * chunks are not joined per packet), or the connection closes, then takes and returns everything
   * buffered, whole or cut short by the close.
   */
  async takeThrough(end: RegExp, what: string, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!end.test(this.tail) && !this.ended) await this.waitForData(deadline, what);
    const all = this.buffer;
    this.keep(Buffer.alloc(0));
    return all;
  }

  private async waitForData(deadline: number, what: string): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.unread.slice(0, 300))}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The text (latin1) up to and including the first match of `pattern` in what is unread; an error
   * if the connection closes or `timeoutMs` passes first.
   */
  async through(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const end = (b: Buffer) => {
      const m = pattern.exec(b.toString('latin1'));
      return m ? m.index + m[0].length : -1;
    };
    const bytes = await this.take(end, String(pattern), timeoutMs);
    if (bytes === null) throw new Error(`connection closed before ${pattern}; unread: ${JSON.stringify(this.unread.slice(0, 300))}`);
    return bytes.toString('latin1');
  }

  /** The next line without its CRLF (or bare LF), or null at the end of the connection. */
  async line(timeoutMs = 5000): Promise<string | null> {
    const bytes = await this.take((b) => (b.indexOf(0x0a) < 0 ? -1 : b.indexOf(0x0a) + 1), 'a line', timeoutMs);
    return bytes === null ? null : bytes.toString('utf8').replace(/\r?\n$/, '');
  }

  /** One whole IMAP response with its literals and CRLF (see `endOfImapResponse`), or null at the end of the connection. */
  imapResponse(timeoutMs = 15_000): Promise<Buffer | null> {
    return this.take(endOfImapResponse, 'a whole IMAP response', timeoutMs);
  }

  /** Exactly `n` bytes (a literal's content); the connection closing first is an error. */
  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    const bytes = await this.take((b) => (b.length >= n ? n : -1), `${n} bytes`, timeoutMs);
    if (bytes === null) throw new Error(`connection closed before ${n} bytes arrived`);
    return bytes;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
