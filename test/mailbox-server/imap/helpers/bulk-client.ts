// A raw IMAP client for big responses: keeps what arrives as a list of chunks (no
// re-concatenation per packet), can stall (socket.pause) to exert back-pressure, and splits a
// FETCH response into its literals.
import { connect, type Socket } from 'node:net';

/** A client that keeps a big response as a list of chunks (no re-concatenation per packet) and can stall. */
export class BulkClient {
  private chunks: Buffer[] = [];
  private received = 0;
  private tail = '';
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.received += d.length;
      this.tail = (this.tail + d.toString('latin1')).slice(-1024);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static async login(port: number, account: { user: string; password: string }): Promise<BulkClient> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new BulkClient(socket);
    await client.exchange(null, /\r\n$/);
    await client.exchange(`l LOGIN ${account.user} ${account.password}`, /l OK[^\r\n]*\r\n$/);
    await client.exchange('s SELECT INBOX', /s OK[^\r\n]*\r\n$/);
    return client;
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Sends `line` and collects everything until the tail matches `end` (or the connection closes). */
  async exchange(line: string | null, end: RegExp, timeoutMs = 30_000): Promise<Buffer> {
    if (line !== null) this.socket.write(`${line}\r\n`);
    const deadline = Date.now() + timeoutMs;
    while (!end.test(this.tail) && !this.closed) {
      if (Date.now() > deadline) throw new Error(`no answer to ${line}: ${JSON.stringify(this.tail.slice(-100))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.tail = '';
    return all;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The literals of one FETCH response, in order: `{n}\r\n` then n octets each. */
export function literals(response: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const open = response.indexOf('{', at);
    if (open === -1) return out;
    const close = response.indexOf('}\r\n', open);
    const n = Number(response.subarray(open + 1, close).toString('latin1'));
    if (close === -1 || !Number.isInteger(n)) return out;
    out.push(response.subarray(close + 3, close + 3 + n));
    at = close + 3 + n;
  }
}

