// One IMAP connection: frames commands with the wire reader, guards (greeting first, too many bad
// commands, timeouts of RFC 3501 §5.4), dispatches through the state table, and announces mailbox
// changes after each command. Commands run one at a time, in order.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { BlobReads } from '../../core/blob-read-budget.ts';
import type { ConnectionSlot } from '../../core/connections-per-address.ts';
import { capabilityList } from './capabilities.ts';
import { commandHandlers } from './commands/index.ts';
import { DeflateLink } from './wire/deflate-link.ts';
import type { CommandContext, Completion, ImapServices } from './context.ts';
import { imapErrorFromStore } from './errors.ts';
import { allowedStates, type SessionState } from './state.ts';
import type { ImapCommand } from './wire/ast.ts';
import { type ImapWireLimits } from './wire/limits.ts';
import { ParseError } from './wire/parse-error.ts';
import { parseCommand, type ParserOptions } from './wire/parser.ts';
import { ImapCommandReader, type ImapReaderEvent } from './wire/reader.ts';
import { continuation, statusLine, withoutNul } from './wire/writer.ts';
import { BadCommandLimit, CLOSE_GRACE_MS, ConnectionClocks, isHttpRequestLine, isLoopback, MAX_QUEUED_EVENTS } from '../line-protocol/guards.ts';

export interface ImapSessionLimits {
  /**
   * RFC 3501 §5.4 allows closing unauthenticated connections sooner than the 30-minute autologout.
   * Counted from the connection's start: bytes trickled in do not extend it.
   */
  readonly loginDeadlineMs: number;
  /** RFC 3501 §5.4: an inactivity autologout timer of at least 30 minutes. */
  readonly idleTimeoutMs: number;
  /** Bad commands answered; the one after them closes the connection. */
  readonly maxBadCommands: number;
  readonly wire: ImapWireLimits;
  /** The wire before login: LOGIN and AUTHENTICATE need a few hundred octets, not APPENDLIMIT. */
  readonly preLoginWire: ImapWireLimits;
}

export interface SessionOptions {
  readonly services: ImapServices;
  readonly limits: ImapSessionLimits;
  readonly secureContext: SecureContext;
  /** Implicit TLS (port 993). */
  readonly secure: boolean;
  /** Treat loopback clients as remote (tests of LOGINDISABLED). */
  readonly loopbackIsRemote: boolean;
  /** This connection's place in the per-address count of unauthenticated connections; freed at login. */
  readonly preLoginSlot: ConnectionSlot;
  readonly onClose: () => void;
}

/** RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE, SEARCH; their UID forms may. */
function expungeAllowedAfter(command: ImapCommand): boolean {
  if (command.name === 'FETCH' || command.name === 'STORE' || command.name === 'SEARCH' || command.name === 'SORT' || command.name === 'THREAD') return command.uid;
  return true;
}

export class ImapSession {
  private socket: Socket;
  /** Where client bytes are read: the socket, or the inflater once COMPRESS is active. */
  private source: Readable;
  /** RFC 4978 COMPRESS=DEFLATE, once the client asked for it. */
  private compression: DeflateLink | null = null;
  private secure: boolean;
  private reader: ImapCommandReader;
  private state: SessionState = { kind: 'notAuthenticated' };
  private readonly events: ImapReaderEvent[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly badCommands: BadCommandLimit;
  private commandsSeen = 0;
  private readonly enabled = new Set<string>();
  private readonly remoteAddress: string;
  private readonly parserOptions: ParserOptions;
  private readonly onData = (data: Buffer) => this.receive(data);
  private readonly onEnd = () => this.close();
  private readonly onError = () => this.close();
  private readonly clocks: ConnectionClocks;
  private preLogin = true;
  private readonly blobs: BlobReads;

  constructor(
    socket: Socket,
    private readonly options: SessionOptions,
  ) {
    this.socket = socket;
    this.source = socket;
    this.secure = options.secure;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.reader = this.preLoginReader();
    const reads = options.services.blobReads.forSession();
    // What this task has read already costs no S3 request and no read slot.
    this.blobs = options.services.bodyCache?.over(reads) ?? reads;
    this.badCommands = new BadCommandLimit(options.limits.maxBadCommands);
    this.clocks = new ConnectionClocks(options.limits, (reason) =>
      this.timeOut(reason === 'idle' ? 'Autologout; idle for too long' : 'Autologout; no login in time'));
    this.parserOptions = { maxDepth: options.limits.wire.maxDepth, maxSequenceRanges: options.limits.wire.maxSequenceRanges, allowSavedResult: true };
    this.attach(socket);
  }

  /** Octets of client input this session holds: the command being framed and bytes queued behind it. */
  get bufferedOctets(): number {
    let queued = 0;
    for (const event of this.events) if (event.kind === 'command') for (const chunk of event.chunks) queued += chunk.bytes.length;
    return this.reader.bufferedOctets + queued;
  }

  /** Sends the greeting and serves commands until the connection ends. */
  async run(): Promise<void> {
    try {
      await this.write(statusLine(null, 'OK', `${this.options.services.hostname} IMAP4rev1 ready`, `CAPABILITY ${this.capabilities().join(' ')}`));
      for (;;) {
        const event = await this.nextEvent();
        if (!event) break;
        await this.handleEvent(event);
        if (this.closed) break;
      }
    } catch (err) {
      if (!this.closed) this.options.services.log.error('imap.session-failed', { err, remote: this.remoteAddress });
    } finally {
      this.close();
    }
  }

  /** Server shutdown: RFC 3501 §7.1.5 BYE, then close. */
  async shutdown(text = 'Server shutting down'): Promise<void> {
    if (this.closed) return;
    this.output(statusLine(null, 'BYE', text));
    this.close();
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.source = socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
  }

  private timeOut(text: string): void {
    if (this.closed) return;
    this.output(statusLine(null, 'BYE', text));
    this.close();
  }

  /** Frames one command at a time under the pre-login limits (see ImapCommandReader.useLimits). */
  private preLoginReader(): ImapCommandReader {
    const reader = new ImapCommandReader(this.options.limits.preLoginWire);
    reader.useLimits(this.options.limits.preLoginWire, { oneCommandAtATime: true });
    return reader;
  }

  private setState(state: SessionState): void {
    const loggedIn = this.state.kind === 'notAuthenticated' && (state.kind === 'authenticated' || state.kind === 'selected');
    if (state.kind === 'notAuthenticated' && this.state.kind !== 'notAuthenticated') this.loggedOut();
    // The task's shared states of a mailbox are kept only while some session has it selected.
    if (this.state.kind === 'selected' && !(state.kind === 'selected' && state.view === this.state.view)) this.state.view.release();
    this.state = state;
    if (!loggedIn) return;
    this.preLogin = false;
    this.clocks.loggedIn();
    this.options.preLoginSlot.release();
    this.reader.useLimits(this.options.limits.wire, { oneCommandAtATime: false });
  }

  /**
   * RFC 8437 §3 UNAUTHENTICATE: as if the connection were new (TLS kept): ENABLEd extensions
   * off, the pre-login wire limits and a fresh login deadline.
   */
  private loggedOut(): void {
    this.enabled.clear();
    this.reader.useLimits(this.options.limits.preLoginWire, { oneCommandAtATime: true });
    this.clocks.loggedOut();
  }

  private receive(data: Buffer): void {
    // RFC 3501 §5.4: inactivity is the client's silence (an IDLE is re-issued within 29 minutes).
    this.clocks.activity();
    for (const event of this.reader.push(data)) this.events.push(event);
    if (this.events.length >= MAX_QUEUED_EVENTS || this.reader.holding) this.source.pause();
    this.wake?.();
  }

  private async nextEvent(signal?: AbortSignal): Promise<ImapReaderEvent | null> {
    for (;;) {
      // Bytes held behind the last command are framed now, under the limits of the current state.
      if (this.events.length === 0 && this.reader.holding) this.events.push(...this.reader.release());
      const event = this.events.shift();
      if (event) {
        if (this.events.length < MAX_QUEUED_EVENTS / 2 && !this.reader.holding && this.source.isPaused()) this.source.resume();
        return event;
      }
      if (this.source.isPaused() && !this.reader.holding) this.source.resume();
      if (this.closed || signal?.aborted) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = null;
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private async handleEvent(event: ImapReaderEvent): Promise<void> {
    switch (event.kind) {
      case 'continue':
        await this.write(continuation());
        return;
      case 'reject':
        await this.write(statusLine(event.tag, event.status, event.text, event.code));
        if (event.status === 'BAD') await this.countBad();
        return;
      case 'close':
        await this.write(statusLine(null, 'BYE', event.text, event.code));
        this.close();
        return;
      case 'command': {
        this.commandsSeen += 1;
        if (this.commandsSeen === 1 && event.chunks.length === 1 && isHttpRequestLine(event.chunks[0]!.bytes.toString('latin1'))) {
          await this.write(statusLine(null, 'BYE', 'This is an IMAP server'));
          this.close();
          return;
        }
        let command: ImapCommand;
        try {
          command = parseCommand(event.chunks, this.parserOptions);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          await this.write(Buffer.from(`${err.response}\r\n`));
          await this.countBad();
          return;
        }
        await this.execute(command);
      }
    }
  }

  private async countBad(): Promise<void> {
    if (this.badCommands.exceeded()) {
      await this.write(statusLine(null, 'BYE', 'Too many invalid commands'));
      this.close();
    }
  }

  private async execute(command: ImapCommand): Promise<void> {
    const allowed = allowedStates[command.name];
    if (!allowed.includes(this.state.kind)) {
      await this.write(statusLine(command.tag, 'BAD', `${command.name} is not valid in this state`));
      await this.countBad();
      return;
    }
    const context = this.context();
    const handler = commandHandlers[command.name] as (c: ImapCommand, ctx: CommandContext, state: never) => Promise<Completion>;
    let completion: Completion;
    try {
      completion = await handler(command, context, this.state as never);
      await this.syncSelected(expungeAllowedAfter(command));
    } catch (err) {
      // The connection is gone (client left, or a literal had to be aborted): nobody to answer.
      if (this.closed) return;
      const answer = imapErrorFromStore(err);
      if (!answer) {
        this.options.services.log.error('imap.command-failed', { err, command: command.name, remote: this.remoteAddress });
        if (this.closed) return;
        await this.write(statusLine(command.tag, 'NO', 'Server error, try again later', 'SERVERBUG'));
        return;
      }
      if (this.closed) return;
      await this.write(statusLine(command.tag, answer.status, answer.message, answer.code));
      if (answer.status === 'BAD') await this.countBad();
      return;
    }
    if (this.closed && command.name !== 'LOGOUT') return;
    await this.write(statusLine(command.tag, 'OK', completion.text, completion.code ?? null));
    this.clocks.activity();
    await completion.after?.();
  }

  private async syncSelected(allowExpunge: boolean): Promise<void> {
    const state = this.state;
    if (state.kind !== 'selected' || this.closed) return;
    const responses = await state.view.sync(this.options.services.store, { allowExpunge, condstore: this.enabled.has('CONDSTORE'), qresync: this.enabled.has('QRESYNC') });
    if (responses.length > 0) await this.write(...responses);
  }

  private capabilities(): string[] {
    return capabilityList({
      authenticated: this.state.kind === 'authenticated' || this.state.kind === 'selected',
      secure: this.secure,
      cleartextAuthAllowed: this.cleartextAuthAllowed(),
      appendLimit: this.options.services.appendLimit,
    });
  }

  private cleartextAuthAllowed(): boolean {
    return this.secure || (isLoopback(this.remoteAddress) && !this.options.loopbackIsRemote);
  }

  private context(): CommandContext {
    return {
      services: this.options.services,
      blobs: this.blobs,
      remoteAddress: this.remoteAddress,
      secure: this.secure,
      cleartextAuthAllowed: this.cleartextAuthAllowed(),
      enabled: this.enabled,
      setState: (state) => this.setState(state),
      send: (...chunks) => this.write(...chunks),
      sendLiteralData: (source, length) => this.writeLiteralData(source, length),
      readClientLine: async (signal) => {
        const event = await this.nextEvent(signal);
        if (!event) return null;
        // A SASL response or DONE is one plain line; anything else is not what we asked for.
        if (event.kind === 'command' && event.chunks.length === 1) return event.chunks[0]!.bytes;
        return Buffer.from('*');
      },
      syncSelected: (allowExpunge) => this.syncSelected(allowExpunge),
      capabilities: () => this.capabilities(),
      startTls: () => this.startTls(),
      compressionActive: this.compression !== null,
      startCompression: () => this.startCompression(),
      close: () => this.close(),
    };
  }

  private async write(...chunks: Buffer[]): Promise<void> {
    if (this.closed) return;
    let ok = true;
    for (const chunk of chunks) ok = this.output(chunk);
    if (!ok && !this.closed) await this.drained();
  }

  /** Writes response bytes to the client, deflated when COMPRESS is active; false: wait for `drained`. */
  private output(chunk: Buffer): boolean {
    return this.compression ? this.compression.write(chunk) : this.socket.write(chunk);
  }

  private async drained(): Promise<void> {
    await Promise.race([once(this.compression?.congestion ?? this.socket, 'drain'), once(this.socket, 'close')]);
  }

  /**
   * Copies exactly `length` octets from `from` (a stream, or a function opening one when its turn
   * comes, so a command's blob reads are open one at a time) to the socket. Iterating it pulls one chunk
   * at a time and waits for 'drain' whenever the socket is congested, so a slow client stalls the S3
   * read instead of filling this process's memory.
   *
   * A source that fails to open, fails or ends short cannot be reported: the client counts the `{length}` octets
   * announced as literal data (RFC 3501 §4.3), so a NO or BYE written now would be read as message
   * bytes (§7.1.5 BYE is a response, and no response may start inside a literal). Padding would
   * hand the client a corrupt message as if it were whole. The only honest signal left is to
   * drop the connection; the client sees a truncated response and reconnects.
   */
  private async writeLiteralData(from: Readable | (() => Promise<Readable>), length: number): Promise<void> {
    let left = length;
    let source: Readable | null = null;
    try {
      source = typeof from === 'function' ? await from() : from;
      for await (const data of source as AsyncIterable<Buffer>) {
        // Past the announced length nothing more may be written. Otherwise the read goes on to the
        // source's end (the range is exactly the literal): an S3 response read to its end hands
        // its connection back to the pool, one destroyed early costs a new connection.
        if (this.closed || left === 0) break;
        // RFC 3501 §9: no NUL inside a literal (see withoutNul).
        const chunk = withoutNul(data.length > left ? data.subarray(0, left) : data);
        left -= chunk.length;
        if (!this.output(chunk) && !this.closed) await this.drained();
      }
    } catch (err) {
      this.abortLiteral(err, length, left);
    } finally {
      source?.destroy();
    }
    if (left > 0 && !this.closed) this.abortLiteral(new Error('blob ended before the announced literal length'), length, left);
    // Stops the command that was answering: its response can never be completed.
    if (left > 0) throw new Error('connection closed inside a literal');
  }

  private abortLiteral(err: unknown, length: number, left: number): void {
    if (this.closed) return;
    this.options.services.log.error('imap.literal-aborted', { err, remote: this.remoteAddress, length, sent: length - left });
    this.close();
    this.socket.destroy();
  }

  /** RFC 3501 §6.2.1; RFC 2595 §3.1: data pipelined after STARTTLS is discarded, not executed. */
  private async startTls(): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    this.events.length = 0;
    this.reader = this.preLoginReader();
    const secured = new TLSSocket(plain, { isServer: true, secureContext: this.options.secureContext });
    this.secure = true;
    this.attach(secured);
    await Promise.race([once(secured, 'secure'), once(secured, 'close')]).catch(() => undefined);
  }

  /**
   * RFC 4978 §3: client bytes are inflated from now on (the client compresses only after our OK,
   * so switching before it is written loses nothing; anything pipelined behind COMPRESS is
   * dropped, as after STARTTLS). The returned function turns on deflating of our responses, to be
   * called once the tagged OK is written.
   */
  private startCompression(): () => void {
    const link = new DeflateLink(this.socket);
    this.socket.off('data', this.onData);
    this.events.length = 0;
    this.reader = new ImapCommandReader(this.options.limits.wire);
    this.compression = link;
    this.source = link.input;
    link.input.on('data', this.onData);
    // A stream that does not inflate cannot be answered: the client reads nothing we could say.
    link.input.on('error', (err) => {
      this.options.services.log.warn('imap.inflate-failed', { err, remote: this.remoteAddress });
      this.close();
      this.socket.destroy();
    });
    link.output.on('error', () => this.socket.destroy());
    return () => link.startDeflating();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.state.kind === 'selected') this.state.view.release();
    this.state = { kind: 'logout' };
    this.clocks.stop();
    if (this.preLogin) this.options.preLoginSlot.release();
    this.preLogin = false;
    if (this.compression) this.compression.end();
    else this.socket.end();
    // A client that never reads must not hold the socket open.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.wake?.();
    this.options.onClose();
  }
}
