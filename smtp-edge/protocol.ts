// smtp-server, adapted to the edge: replies that carry their own enhanced status code
// (core/smtp-reply.ts SmtpError.reply), EXPN and VRFY that disclose nothing, AUTH only under TLS,
// and draining on shutdown.
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';

/** `2.1.5 text`: a reply text that already starts with an RFC 3463 enhanced status code. */
const LEADING_ENHANCED_CODE = /^([245])\.\d{1,3}\.\d{1,3} /;

/** RFC 4954 §6: AUTH PLAIN and LOGIN send the password in the clear, so only over TLS. */
export const ENCRYPTION_REQUIRED = '5.7.11 Encryption required for requested authentication mechanism';

/** RFC 3463 4.3.2: system not accepting network messages. */
export const SHUTTING_DOWN = '4.3.2 Service shutting down, try again later';

class EdgeConnection extends SMTPConnection {
  declare _server: EdgeSmtpServer;
  /** Set while the EHLO reply of a cleartext session is being sent, to leave AUTH out of it. */
  private hidingAuth = false;

  /** AUTH is neither offered nor accepted until the session is under TLS. */
  private get authNeedsTls(): boolean {
    return !this.secure && !this._server.options.allowInsecureAuth;
  }

  /**
   * smtp-server derives the enhanced code from the basic code alone (554 → 5.6.0, 452 → 4.2.2),
   * which is wrong for e.g. 554 5.7.1 relay denied. A reply text that starts with its own code
   * is sent as is; everything else keeps the library's mapping.
   */
  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (this.hidingAuth && Array.isArray(data)) data = data.filter((line) => !/^AUTH\b/i.test(line));
    const own = typeof data === 'string' ? LEADING_ENHANCED_CODE.exec(data) : null;
    super.send(code, data, own && own[1] === String(code)[0] ? false : context);
  }

  /** Nothing is pending for this connection: no transaction, no DATA, no handler running. */
  isIdle(): boolean {
    return !this._handlerPending && !this._dataStream && !this.session.envelope?.mailFrom;
  }

  /** While draining, a transaction in progress may finish; anything else ends the session. */
  override _onCommand(command: Buffer, callback?: () => void): void {
    if (this._server.draining && !this._upgrading && this.isIdle()) {
      const name = command.toString('latin1').split(' ')[0]!.toUpperCase();
      if (name !== 'QUIT') return this.send(421, SHUTTING_DOWN, false);
    }
    super._onCommand(command, callback);
  }

  /**
   * RFC 3207 §4.2 and RFC 8314 §3.3 (no credentials before TLS): a cleartext session is not
   * told about AUTH at all, so no client is tempted to send a password in the clear.
   */
  override handler_EHLO(command: Buffer, callback: () => void): void {
    if (!this.authNeedsTls) return super.handler_EHLO(command, callback);
    this.hidingAuth = true;
    try {
      super.handler_EHLO(command, callback); // replies synchronously
    } finally {
      this.hidingAuth = false;
    }
  }

  /** RFC 4954 §4, §6: AUTH before STARTTLS gets 538 5.7.11 (smtp-server would say 5.7.0). */
  override handler_AUTH(command: Buffer, callback: () => void): void {
    if (this.authNeedsTls) {
      this.send(538, ENCRYPTION_REQUIRED);
      return callback();
    }
    super.handler_AUTH(command, callback);
  }

  /** RFC 5321 §3.5.3: 252 when the server will not verify; never disclose accounts (§7.3). */
  override handler_VRFY(command: Buffer, callback: () => void): void {
    if (!command.toString('latin1').trim().split(/\s+/)[1]) this.send(501, '5.5.4 Syntax: VRFY address');
    else this.send(252, '2.5.0 Cannot VRFY user, but will accept message and attempt delivery');
    callback();
  }

  /** RFC 5321 §3.5.2, §7.3: mailing lists are not expanded for anyone. */
  handler_EXPN(_command: Buffer, callback: () => void): void {
    this.send(502, '5.5.1 EXPN is not available');
    callback();
  }
}

/** An SMTPServer whose connections are EdgeConnections and which can drain. */
export class EdgeSmtpServer extends SMTPServer {
  draining = false;

  constructor(options: SMTPServerOptions) {
    super(options);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    // as SMTPServer.connect, with our connection class
    const connection = new EdgeConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }

  /**
   * Stops accepting connections, closes idle sessions with 421 and lets transactions in
   * progress finish (their DATA still gets its 250). After `graceMs`, whatever remains is
   * closed with 421: the client keeps the message and retries, so nothing is lost.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this._pendingSockets.values()) socket.destroy();
    for (const connection of this.connections) {
      if (connection instanceof EdgeConnection && connection.isIdle()) connection.send(421, SHUTTING_DOWN, false);
    }
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => { timer = setTimeout(() => resolve('grace-over'), graceMs); });
    const outcome = await Promise.race([closed, graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace-over') {
      for (const connection of this.connections) connection.send(421, SHUTTING_DOWN, false);
      for (const connection of [...this.connections]) connection._socket.destroy();
      await closed;
    }
  }
}
