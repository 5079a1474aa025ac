// One POP3 connection: reads commands through the wire layer, guards (bad commands, timeouts,
// failed logins), checks the state table, runs handlers one at a time (RFC 2449 §6.6 PIPELINING:
// answers go out in order), and owns the socket, the STLS upgrade and the maildrop lease.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { BlobReads } from '../../core/blob-read-budget.ts';
import type { ConnectionSlot } from '../../core/connections-per-address.ts';
import { HANDLERS } from './commands/index.ts';
import { Pop3SyntaxError } from './commands/arguments.ts';
import type { Pop3Context, Pop3LeaseHandle, Pop3Services } from './context.ts';
import type { Maildrop } from './maildrop.ts';
import { RetrReadAhead } from './retr-read-ahead.ts';
import { COMMANDS_BY_STATE, type Pop3CommandName, type Pop3State } from './state.ts';
import { Pop3LineReader, type Pop3LineLimits, type Pop3ReaderEvent } from './wire/line-reader.ts';
import { err, ok, Pop3Error, saslChallenge } from './wire/responses.ts';
import { BadCommandLimit, CLOSE_GRACE_MS, ConnectionClocks, isHttpRequestLine, isLoopback, MAX_QUEUED_EVENTS } from '../line-protocol/guards.ts';

export interface Pop3SessionLimits {
  /** Time to log in, counted from the connection's start: bytes trickled in do not extend it. */
  readonly loginDeadlineMs: number;
  /** RFC 1939 §3: the autologout timer after login is at least 10 minutes. */
  readonly idleTimeoutMs: number;
  /** Unknown, malformed or out-of-state commands answered; the one after them closes the connection. */
  readonly maxBadCommands: number;
  /** Failed logins on one connection before it is closed (the throttle slows the rest). */
  readonly maxLoginFailures: number;
  /** How often the maildrop lease is renewed; well below the lease length. */
  readonly leaseRenewMs: number;
  readonly line?: Pop3LineLimits;
}

export interface Pop3SessionOptions {
  readonly services: Pop3Services;
  readonly limits: Pop3SessionLimits;
  readonly hostname: string;
  /** For STLS on the cleartext listener; null disables STLS. */
  readonly secureContext: SecureContext | null;
  /** Treat loopback clients as remote (tests of the plaintext-login rule). */
  readonly loopbackIsRemote: boolean;
}

/** What one connection holds of the server's shared limits. */
export interface Pop3ConnectionLimits {
  /** The connection's place in the per-address count of unauthenticated connections; freed at login. */
  readonly preLoginSlot: ConnectionSlot;
}

export class Pop3Session {
  private socket: Socket;
  private tls: boolean;
  private reader: Pop3LineReader;
  private state: Pop3State = { kind: 'authorization', pendingUser: null };
  private readonly queue: Pop3ReaderEvent[] = [];
  private waiter: ((event: Pop3ReaderEvent | null) => void) | null = null;
  private closed = false;
  private readonly badCommands: BadCommandLimit;
  private loginFailures = 0;
  private readonly clocks: ConnectionClocks;
  private preLogin = true;
  /** The session's share of the process's S3 read budget, behind the task's body cache. */
  private readonly blobs: BlobReads;
  /** Bodies of RETRs queued behind the running command (RFC 2449 §6.6), read before their turn. */
  private readonly readAhead: RetrReadAhead;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly remoteAddress: string;
  /** Settles once the socket is gone and the lease (if any) released. */
  readonly finished: Promise<void>;
  private readonly context: Pop3Context;

  constructor(
    socket: Socket,
    tls: boolean,
    private readonly options: Pop3SessionOptions,
    private readonly shared: Pop3ConnectionLimits,
  ) {
    this.socket = socket;
    this.tls = tls;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.reader = new Pop3LineReader(options.limits.line);
    const reads = options.services.blobReads.forSession();
    // What this task has read already costs no S3 request and no read slot.
    this.blobs = options.services.bodyCache?.over(reads) ?? reads;
    this.readAhead = new RetrReadAhead(this.blobs);
    this.context = this.makeContext();
    this.badCommands = new BadCommandLimit(options.limits.maxBadCommands);
    // RFC 1939 §3: an autologout does not enter UPDATE, so nothing marked deleted is removed.
    this.clocks = new ConnectionClocks(options.limits, (reason) =>
      void this.close(err(reason === 'idle' ? 'Autologout: idle for too long' : 'Autologout: no login in time')));
    this.attach(socket);
    this.finished = new Promise((resolve) => socket.once('close', () => void this.onClosed().then(resolve, resolve)));
    void this.run();
  }

  /** Ends the session now (server shutdown): no UPDATE, the lease is released. */
  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (data: Buffer) => {
    for (const event of this.reader.push(data)) this.deliver(event);
  };

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', (error) => this.options.services.log.info('pop3.socket-error', { ip: this.remoteAddress, err: error }));
  }

  private deliver(event: Pop3ReaderEvent): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      this.clocks.pause();
      waiter(event);
      return;
    }
    this.queue.push(event);
    if (this.queue.length >= MAX_QUEUED_EVENTS) this.socket.pause();
  }

  /** The next command line (or SASL line); null once the connection is closed. */
  private nextEvent(): Promise<Pop3ReaderEvent | null> {
    const queued = this.queue.shift();
    if (queued) {
      if (this.queue.length < MAX_QUEUED_EVENTS / 2) this.socket.resume();
      return Promise.resolve(queued);
    }
    if (this.closed) return Promise.resolve(null);
    // Inactivity is the time the client keeps us waiting, not the time a command runs.
    this.clocks.activity();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private async run(): Promise<void> {
    try {
      await this.reply(ok(`${this.options.hostname} POP3 server ready`));
      for (;;) {
        const event = await this.nextEvent();
        if (!event || this.closed) break;
        await this.handle(event);
      }
    } catch (error) {
      this.options.services.log.error('pop3.session-failed', { ip: this.remoteAddress, err: error });
      this.socket.destroy();
    }
  }

  private async handle(event: Pop3ReaderEvent): Promise<void> {
    if (event.kind === 'error') return this.badCommand(event.response);
    if (event.kind === 'sasl') return this.badCommand(err('Unexpected SASL response'));
    const { keyword, args } = event;
    if (isHttpRequestLine([keyword, ...args].join(' '))) return this.close(err('This is a POP3 server'));
    const handler = HANDLERS[keyword as Pop3CommandName] as (typeof HANDLERS)[Pop3CommandName] | undefined;
    if (!handler) return this.badCommand(err('Unknown command'));
    const accepted: readonly string[] = COMMANDS_BY_STATE[this.state.kind];
    if (!accepted.includes(keyword)) return this.badCommand(err('Command not valid in this state'));
    if (this.state.kind === 'transaction') {
      const queued = this.queue.flatMap((e) => (e.kind === 'command' ? [e] : []));
      this.readAhead.consider(this.state.maildrop, [{ keyword, args }, ...queued]);
    }
    try {
      await handler(this.context, this.state, args);
    } catch (error) {
      if (error instanceof Pop3SyntaxError) return this.badCommand(error.response);
      if (error instanceof Pop3Error) return this.reply(error.response);
      this.options.services.log.error('pop3.command-failed', { ip: this.remoteAddress, command: keyword, err: error });
      await this.reply(err('Temporary failure, try again later', 'SYS/TEMP'));
    }
  }

  private async badCommand(response: Buffer): Promise<void> {
    if (this.badCommands.exceeded()) return this.close(err('Too many bad commands, closing'));
    await this.reply(response);
  }

  private endPreLogin(): void {
    if (!this.preLogin) return;
    this.preLogin = false;
    this.shared.preLoginSlot.release();
  }

  // ---- output ------------------------------------------------------------------------------

  private readonly write = async (chunk: Buffer): Promise<void> => {
    if (this.closed || this.socket.destroyed || chunk.length === 0) return;
    if (this.socket.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  };

  private reply(response: Buffer): Promise<void> {
    return this.write(response);
  }

  private async close(final?: Buffer): Promise<void> {
    if (this.closed) return;
    if (final) await this.write(final);
    this.closed = true;
    this.clocks.stop();
    this.endPreLogin();
    this.waiter?.(null);
    this.waiter = null;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  // ---- end of the connection ---------------------------------------------------------------

  private async onClosed(): Promise<void> {
    this.closed = true;
    this.readAhead.stop();
    this.clocks.stop();
    this.endPreLogin();
    this.waiter?.(null);
    this.waiter = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    // Dropped in TRANSACTION: RFC 1939 §6, no UPDATE; the lock goes so the user can log in again.
    // (After QUIT the state is UPDATE and the QUIT handler releases once it has expunged.)
    if (this.state.kind === 'transaction') {
      const { lease, account } = this.state;
      await lease.release().catch((error: unknown) => this.options.services.log.warn('pop3.unlock-failed', { account, err: error }));
    }
  }

  // ---- what handlers see -------------------------------------------------------------------

  private makeContext(): Pop3Context {
    const session = this;
    const { services, secureContext, loopbackIsRemote } = this.options;
    return {
      services,
      blobs: this.blobs,
      readAhead: this.readAhead,
      get connection() {
        return {
          remoteAddress: session.remoteAddress,
          tls: session.tls,
          plaintextLoginAllowed: session.tls || (!loopbackIsRemote && isLoopback(session.remoteAddress)),
          canStartTls: !session.tls && secureContext !== null,
        };
      },
      reply: (response) => this.reply(response),
      send: this.write,
      isOpen: () => !this.closed && !this.socket.destroyed,
      abort: (reason, error) => {
        services.log.warn(reason, { ip: this.remoteAddress, err: error });
        this.closed = true;
        this.socket.destroy();
      },
      setState: (state) => {
        this.state = state;
      },
      enterTransaction: (account, maildrop, lease) => this.enterTransaction(account, maildrop, lease),
      loginFailed: async () => {
        this.loginFailures += 1;
        if (this.loginFailures >= this.options.limits.maxLoginFailures) await this.close(err('Too many failed logins, closing'));
      },
      saslExchange: (challenge) => this.saslExchange(challenge),
      startTls: () => this.startTls(),
      close: (final) => this.close(final),
    };
  }

  private enterTransaction(account: string, maildrop: Maildrop, lease: Pop3LeaseHandle): void {
    this.state = { kind: 'transaction', account, maildrop, lease };
    this.endPreLogin();
    this.clocks.loggedIn();
    if (this.closed) {
      // The client left while the login was in flight: nothing will release the lease otherwise.
      void lease.release().catch(() => undefined);
      return;
    }
    this.heartbeat = setInterval(() => {
      lease.renew().then(
        (held) => {
          if (held) return;
          // Another session took the maildrop (our lease lapsed): continuing could double-delete.
          this.options.services.log.warn('pop3.lock-lost', { account });
          this.closed = true;
          this.socket.destroy();
        },
        (error: unknown) => this.options.services.log.warn('pop3.lock-renew-failed', { account, err: error }),
      );
    }, this.options.limits.leaseRenewMs);
  }

  private async saslExchange(challenge: string): Promise<string | null> {
    // A client that pipelined past AUTH (RFC 2449 §6.6 forbids it) gets its lines read as commands.
    if (this.queue.length > 0) {
      await this.reply(err('AUTH exchange cannot be pipelined'));
      return null;
    }
    this.reader.expectSaslResponse();
    await this.reply(saslChallenge(challenge));
    const event = await this.nextEvent();
    if (!event) return null;
    if (event.kind === 'sasl') return event.line;
    await this.reply(event.kind === 'error' ? event.response : err('Expected a SASL response'));
    return null;
  }

  private async startTls(): Promise<void> {
    const { secureContext } = this.options;
    if (!secureContext) throw new Pop3Error('TLS not available');
    const plain = this.socket;
    // RFC 2595 §4 / CVE-2011-0411: nothing the client sent before the handshake may be acted on.
    plain.off('data', this.onData);
    this.queue.length = 0;
    this.reader = new Pop3LineReader(this.options.limits.line);
    const secure = new TLSSocket(plain, { isServer: true, secureContext });
    try {
      await new Promise<void>((resolve, reject) => {
        secure.once('secure', resolve);
        secure.once('error', reject);
        secure.once('close', () => reject(new Error('closed during TLS handshake')));
      });
    } catch (error) {
      this.options.services.log.info('pop3.tls-failed', { ip: this.remoteAddress, err: error });
      this.closed = true;
      plain.destroy();
      return;
    }
    this.socket = secure;
    this.tls = true;
    this.attach(secure);
  }
}
