// A raw IMAP client for big responses: keeps what arrives as a list of chunks (no
// re-concatenation per packet, test/helpers/socket-reader.ts `takeThrough`), can stall
// (socket.pause) to exert back-pressure, and splits a FETCH response into its literals.
import type { Socket } from 'node:net';
import { connectSocket, SocketReader } from '../../../helpers/socket-reader.ts';

/** A client that keeps a big response as a list of chunks (no re-concatenation per packet) and can stall. */
export class BulkClient {
  private readonly reader: SocketReader;

  private constructor(readonly socket: Socket) {
    this.reader = new SocketReader(socket);
  }

  static async login(port: number, account: { user: string; password: string }): Promise<BulkClient> {
    const client = new BulkClient(await connectSocket(port));
    await client.exchange(null, /\r\n$/);
    await client.exchange(`l LOGIN ${account.user} ${account.password}`, /l OK[^\r\n]*\r\n$/);
    await client.exchange('s SELECT INBOX', /s OK[^\r\n]*\r\n$/);
    return client;
  }

  get bytesReceived(): number {
    return this.reader.bytesReceived;
  }

  get closed(): boolean {
    return this.reader.isClosed;
  }

  /** Sends `line` and collects everything until the tail matches `end` (or the connection closes). */
  exchange(line: string | null, end: RegExp, timeoutMs = 30_000): Promise<Buffer> {
    if (line !== null) this.socket.write(`${line}\r\n`);
    return this.reader.takeThrough(end, `the answer to ${line}`, timeoutMs);
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

