// A scriptable SMTP peer that misbehaves on purpose: refuses or botches STARTTLS, closes or goes
// silent at any step, answers a byte a second. Polite by default (RFC 5321 replies, 250 to all);
// a script overrides single steps. It records what it accepted, so a test can count deliveries.
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import type { TlsCredentials } from '../../../core/tls.ts';

/** What the peer does at one step. */
export type Move =
  /** Send this reply (CRLF added; several lines joined with CRLF). */
  | { readonly kind: 'reply'; readonly text: string }
  /** Close the connection without a word. */
  | { readonly kind: 'close' }
  /** Say nothing and keep the connection open. */
  | { readonly kind: 'silent' }
  /** Send the reply one byte at a time, `bytesPerSecond` fast. */
  | { readonly kind: 'trickle'; readonly text: string; readonly bytesPerSecond: number };

export const reply = (text: string): Move => ({ kind: 'reply', text });
export const close: Move = { kind: 'close' };
export const silent: Move = { kind: 'silent' };
export const trickle = (text: string, bytesPerSecond = 1): Move => ({ kind: 'trickle', text, bytesPerSecond });

export interface HostileScript {
  /** Default: 220 greeting. */
  readonly greeting?: Move;
  /** List STARTTLS in the EHLO reply (default: when `tls` is given and not implicit). */
  readonly offerStartTls?: boolean;
  /** After `220` to STARTTLS: a real handshake with `tls`, or bytes that are no TLS at all. */
  readonly handshake?: 'tls' | 'garbage';
  /** Certificate for STARTTLS or implicit TLS. */
  readonly tls?: TlsCredentials;
  /** More EHLO keywords, e.g. `AUTH PLAIN LOGIN`. */
  readonly extensions?: readonly string[];
  /** TLS from the first byte (465). */
  readonly implicitTls?: boolean;
  /** Per command (verb upper-cased, e.g. RCPT), `n` = how many times this verb came on this connection; undefined = the polite answer. */
  command?(verb: string, line: string, n: number, session: { readonly connection: number }): Move | undefined;
  /** Once the message body has started arriving (after 354): e.g. `close` mid-DATA. */
  readonly midData?: Move;
  /** The reply to the final dot; default 250. A 2xx here records a delivery. */
  afterDot?(session: { readonly connection: number; readonly recipients: readonly string[] }): Move | undefined;
}

export interface Delivery {
  readonly connection: number;
  readonly mailFrom: string;
  readonly recipients: string[];
  readonly data: Buffer;
}

export class HostileSmtp {
  readonly deliveries: Delivery[] = [];
  /** Every command line received, per connection (1-based), e.g. [1, 'EHLO relay.test']. */
  readonly commands: Array<[number, string]> = [];
  connections = 0;
  port = 0;
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly script: HostileScript = {}) {}

  async start(): Promise<void> {
    const onSocket = (socket: Socket) => this.session(socket);
    this.server = this.script.implicitTls
      ? createTlsServer({ key: this.script.tls!.key, cert: this.script.tls!.cert }, onSocket)
      : createTcpServer(onSocket);
    // A client that gives up mid-handshake is expected here.
    this.server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Closes every connection and the listener, whatever state they are in. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    if (this.server?.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private session(plain: Socket): void {
    const n = ++this.connections;
    const script = this.script;
    let socket: Socket = plain;
    this.track(socket);
    const counts = new Map<string, number>();
    let buffer = '';
    let mode: 'command' | 'data' | 'gone' = 'command';
    let data: Buffer[] = [];
    let mailFrom = '';
    let recipients: string[] = [];
    let midDataDone = false;

    // Replies leave in order: one that trickles holds back the ones behind it (a pipelining
    // client sends the next commands before it has the answer).
    const outbox: Array<{ bytes: Buffer; perByteMs: number } | 'close'> = [];
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      const next = outbox.shift();
      if (!next || socket.destroyed) return;
      if (next === 'close') return void socket.end();
      if (next.perByteMs === 0) {
        socket.write(next.bytes);
        return pump();
      }
      pumping = true;
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed) return void clearInterval(timer);
        socket.write(next.bytes.subarray(i, ++i));
        if (i < next.bytes.length) return;
        clearInterval(timer);
        pumping = false;
        pump();
      }, next.perByteMs);
      this.timers.add(timer);
    };
    const play = (move: Move | undefined, fallback: string): void => {
      const m = move ?? reply(fallback);
      if (mode === 'gone') return;
      if (m.kind === 'close') {
        mode = 'gone';
        outbox.push('close');
      } else if (m.kind === 'reply') {
        outbox.push({ bytes: Buffer.from(`${m.text.split('\n').join('\r\n')}\r\n`), perByteMs: 0 });
      } else if (m.kind === 'trickle') {
        outbox.push({ bytes: Buffer.from(`${m.text}\r\n`), perByteMs: 1000 / m.bytesPerSecond });
      }
      // silent: nothing; the connection stays open until the client or stop() ends it.
      pump();
    };

    const onLine = (line: string): void => {
      this.commands.push([n, line]);
      const verb = (/^\s*([A-Za-z]+)/.exec(line)?.[1] ?? '').toUpperCase();
      const count = (counts.get(verb) ?? 0) + 1;
      counts.set(verb, count);
      const scripted = script.command?.(verb, line, count, { connection: n });
      const tlsActive = socket instanceof TLSSocket;
      switch (verb) {
        case 'EHLO': {
          const offer = !tlsActive && (script.offerStartTls ?? (script.tls !== undefined && !script.implicitTls));
          return play(scripted, ['250-hostile.test', '250-PIPELINING', '250-8BITMIME', ...(offer ? ['250-STARTTLS'] : []), ...(script.extensions ?? []).map((e) => `250-${e}`), '250 SIZE 10240000'].join('\n'));
        }
        case 'STARTTLS': {
          if (scripted) return play(scripted, '');
          if (tlsActive || !(script.offerStartTls ?? script.tls !== undefined)) return play(undefined, '502 5.5.1 STARTTLS not offered here');
          play(undefined, '220 2.0.0 Go ahead');
          if (script.handshake === 'garbage') {
            play(reply('this is not a TLS handshake'), '');
            play(close, '');
            return;
          }
          upgrade();
          return;
        }
        case 'MAIL':
          mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? '';
          recipients = [];
          return play(scripted, '250 2.1.0 Ok');
        case 'RCPT': {
          const move = scripted ?? reply('250 2.1.5 Ok');
          if (move.kind === 'reply' && move.text.startsWith('2')) recipients.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          return play(move, '');
        }
        case 'DATA':
          if (!scripted && recipients.length === 0) return play(undefined, '554 5.5.1 No valid recipients');
          if (!scripted || (scripted.kind === 'reply' && scripted.text.startsWith('3'))) {
            mode = 'data';
            data = [];
          }
          return play(scripted, '354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          recipients = [];
          return play(scripted, '250 2.0.0 Ok');
        case 'QUIT':
          play(scripted, '221 2.0.0 Bye');
          mode = 'gone';
          socket.end();
          return;
        default:
          return play(scripted, '502 5.5.2 Command not recognized');
      }
    };

    const onData = (chunk: Buffer): void => {
      if (mode === 'gone') return;
      if (mode === 'data') {
        if (!midDataDone && script.midData) {
          midDataDone = true;
          play(script.midData, '');
          if (script.midData.kind !== 'reply') return;
        }
        data.push(chunk);
        const all = Buffer.concat(data);
        const end = all.indexOf('\r\n.\r\n');
        if (end < 0) return;
        mode = 'command';
        const rest = all.subarray(end + 5).toString('latin1');
        const move = script.afterDot?.({ connection: n, recipients }) ?? reply('250 2.0.0 Ok: queued');
        if (move.kind === 'reply' && move.text.startsWith('2')) {
          this.deliveries.push({ connection: n, mailFrom, recipients: [...recipients], data: all.subarray(0, end + 2) });
        }
        play(move, '');
        if (rest) onData(Buffer.from(rest, 'latin1'));
        return;
      }
      buffer += chunk.toString('latin1');
      let i: number;
      while (mode === 'command' && (i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        onLine(line);
      }
      // Pipelined DATA content right behind the DATA command.
      if ((mode as string) === 'data' && buffer) {
        const rest = buffer;
        buffer = '';
        onData(Buffer.from(rest, 'latin1'));
      }
    };

    const upgrade = (): void => {
      socket.removeListener('data', onData);
      const secure = new TLSSocket(socket, { isServer: true, key: script.tls!.key, cert: script.tls!.cert });
      secure.on('error', () => {});
      this.track(secure);
      socket = secure;
      buffer = '';
      secure.on('data', onData);
    };

    socket.on('data', onData);
    socket.on('error', () => {});
    play(script.greeting, '220 hostile.test ESMTP');
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
