// What every line-level test client (IMAP, POP3, SMTP, the Dovecot probe) needs from its socket:
// the bytes received and not yet consumed, and a way to wait, with a deadline, until they hold
// what the protocol calls a whole answer. Each client says what "whole" means; this file waits.
import { connect as connectPlain, type Socket } from 'node:net';
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

export class SocketReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiters: Array<() => void> = [];
  /** Settles when the peer has closed the connection. */
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
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

  /** What has arrived and not been taken, for diagnostics. */
  get unread(): string {
    return this.buffer.toString('latin1');
  }

  /**
   * Waits until `end(buffered)` finds the end of a whole answer (an offset past its last byte,
   * or -1 for "not yet"), then takes and returns those bytes. Null when the connection closed
   * first; an error naming what was waiting after `timeoutMs`.
   */
  async take(end: (buffered: Buffer) => number, what: string, timeoutMs: number): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = end(this.buffer);
      if (at >= 0) {
        const out = this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at);
        return out;
      }
      if (this.ended) return null;
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
  }

  /** The next line without its CRLF (or bare LF), or null at the end of the connection. */
  async line(timeoutMs = 5000): Promise<string | null> {
    const bytes = await this.take((b) => (b.indexOf(0x0a) < 0 ? -1 : b.indexOf(0x0a) + 1), 'a line', timeoutMs);
    return bytes === null ? null : bytes.toString('utf8').replace(/\r?\n$/, '');
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
