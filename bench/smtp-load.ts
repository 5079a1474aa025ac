// A minimal SMTP load generator for benchmarks: one transaction after another per connection,
// timing the end of DATA to the server's reply. Not a test double: it drives real servers.
import { connect, type Socket } from 'node:net';

export interface TransactionTiming {
  /** Milliseconds from sending `<CRLF>.<CRLF>` to reading the reply. */
  readonly dataToReplyMs: number;
  /** When the reply arrived (performance.now()). */
  readonly repliedAt: number;
  /** When MAIL FROM was sent (performance.now()). */
  readonly mailFromAt: number;
  readonly reply: string;
}

class LineReader {
  private buffer = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];
  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\r\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 2);
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
  }
  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  /** Reads a whole (possibly multi-line) reply and returns its last line. */
  async reply(): Promise<string> {
    for (;;) {
      const line = await this.next();
      if (line[3] !== '-') return line;
    }
  }
}

/**
 * The DATA payload of a CRLF message: lines starting with a dot doubled (RFC 5321 §4.5.2) and its
 * last line break left to the terminator, so the server stores the message as given.
 */
export function dataPayload(body: Buffer): Buffer {
  const text = body.toString('latin1');
  const stuffed = (text.startsWith('.') ? '.' : '') + text.replace(/\r\n\./g, '\r\n..');
  return Buffer.from(stuffed.endsWith('\r\n') ? stuffed.slice(0, -2) : stuffed, 'latin1');
}

/**
 * Sends `count` messages over one connection; throws on any non-2xx/3xx reply. `lmtp` greets with
 * LHLO (RFC 2033 §4.1): with one recipient a transaction, and its timing, are SMTP's.
 */
export async function sendOverOneConnection(
  port: number,
  messages: () => { from: string; to: string; body: Buffer },
  count: number,
  options: { lmtp?: boolean } = {},
): Promise<TransactionTiming[]> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const reader = new LineReader(socket);
  const expect = async (prefix: string) => {
    const line = await reader.reply();
    if (!line.startsWith(prefix)) throw new Error(`expected ${prefix}, got: ${line}`);
    return line;
  };
  const timings: TransactionTiming[] = [];
  try {
    await expect('220');
    socket.write(`${options.lmtp ? 'LHLO' : 'EHLO'} bench.local\r\n`);
    await expect('250');
    for (let i = 0; i < count; i++) {
      const m = messages();
      const mailFromAt = performance.now();
      socket.write(`MAIL FROM:<${m.from}>\r\n`);
      await expect('250');
      socket.write(`RCPT TO:<${m.to}>\r\n`);
      await expect('250');
      socket.write('DATA\r\n');
      await expect('354');
      socket.write(dataPayload(m.body));
      const sentAt = performance.now();
      socket.write('\r\n.\r\n');
      const reply = await expect('250');
      const repliedAt = performance.now();
      timings.push({ dataToReplyMs: repliedAt - sentAt, repliedAt, mailFromAt, reply });
    }
    socket.write('QUIT\r\n');
    await expect('221');
  } finally {
    socket.destroy();
  }
  return timings;
}

/** A message of about `size` bytes with CRLF lines and no line starting with a dot. */
export function syntheticMessage(size: number, n: number, from: string, to: string): Buffer {
  const header =
    `From: Bench <${from}>\r\nTo: <${to}>\r\nSubject: bench message ${n}\r\n` +
    `Message-ID: <bench-${n}-${Date.now()}@bench.local>\r\nDate: ${new Date().toUTCString()}\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  const lines = Math.max(1, Math.ceil((size - header.length) / line.length));
  return Buffer.from(header + line.repeat(lines).slice(0, Math.max(0, size - header.length)).replace(/\r?\n?$/, ''));
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
