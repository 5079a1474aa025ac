// The SMTP edge: smtp-server listeners wired to the Directory (RCPT), S3 and SQS (DATA).
// One listener per port, each with a role; MX (port 25) now, submission 587/465 later.
import type { AddressInfo } from 'node:net';
import type { SMTPServerDataStream, SMTPServerOptions, SMTPServerResolver, SMTPServerSession } from 'smtp-server';
import { parseAddress } from '../core/addresses.ts';
import type { BlobStore } from '../core/blobs.ts';
import type { MailConfig } from '../core/config.ts';
import { SmtpError, temporaryFailure } from '../core/errors.ts';
import type { QueueSender } from '../core/queues.ts';
import type { Directory } from '../core/store/types.ts';
import type { TlsCredentials } from '../core/tls.ts';
import { DATA_REPLIES, receiveMessage, type Transaction } from './data.ts';
import { silentLog, type EdgeLog } from './log.ts';
import { EdgeSmtpServer } from './protocol.ts';
import { decideRecipient, RecipientRouteCache } from './recipients.ts';
import { transmissionProtocol } from './trace.ts';

/**
 * What a listener is for. `mx`: mail from the internet to local domains, no AUTH, STARTTLS
 * offered. Submission (587 STARTTLS + AUTH, 465 implicit TLS) will add roles here.
 */
export type ListenerRole = 'mx';

export interface ListenerOptions {
  /** Key of this listener in `SmtpEdge.ports`, e.g. `mx`. */
  readonly name: string;
  readonly role: ListenerRole;
  /** 0 for a free port. */
  readonly port: number;
  readonly host?: string;
}

export interface SmtpEdgeLimits {
  /** Concurrent sessions from one IP address, across listeners; more get 421 4.7.0. */
  readonly maxConnectionsPerIp: number;
  /** Concurrent sessions per listener. */
  readonly maxClients: number;
  /** Idle time before 421; RFC 5321 §4.5.3.2.7 asks servers to wait at least 5 minutes. */
  readonly idleTimeoutMs: number;
  /** Longest command line; longer ones get 421 and the connection closes. */
  readonly maxCommandLength: number;
  /** How long `close()` lets transactions in progress finish. */
  readonly drainGraceMs: number;
  /** How long a recipient lookup is reused. */
  readonly recipientCacheTtlMs: number;
}

export const DEFAULT_LIMITS: SmtpEdgeLimits = {
  maxConnectionsPerIp: 20,
  maxClients: 1000,
  idleTimeoutMs: 5 * 60_000,
  // RFC 5321 §4.5.3.1.4 allows 512 octets plus what extensions add (SIZE, BODY, SMTPUTF8, DSN)
  maxCommandLength: 4096,
  // ECS sends SIGKILL 30 s after SIGTERM by default
  drainGraceMs: 25_000,
  recipientCacheTtlMs: 10_000,
};

export interface SmtpEdgeOptions {
  readonly mail: MailConfig;
  readonly directory: Directory;
  readonly blobs: BlobStore;
  readonly queue: QueueSender;
  readonly inboundQueueUrl: string;
  readonly tls: TlsCredentials;
  readonly listeners: readonly ListenerOptions[];
  readonly limits?: Partial<SmtpEdgeLimits>;
  /** Reverse DNS for the Received: header; the system resolver when omitted. */
  readonly resolver?: SMTPServerResolver;
  readonly log?: EdgeLog;
}

export interface SmtpEdge {
  /** Bound port of each listener, by listener name. */
  readonly ports: Readonly<Record<string, number>>;
  /** Drains: stops accepting, lets transactions in progress finish, then closes. */
  close(): Promise<void>;
}

/** smtp-server reports a handler error with `responseCode`; the text carries our enhanced code. */
function toReply(err: unknown): Error {
  const smtp = err instanceof SmtpError ? err : temporaryFailure();
  return Object.assign(new Error(smtp.reply), { responseCode: smtp.code });
}

function roleSettings(role: ListenerRole): Partial<SMTPServerOptions> {
  switch (role) {
    case 'mx':
      // RFC 5321 §4.5.4: MX accepts mail for its own domains without authentication
      return { disabledCommands: ['AUTH'] };
  }
}

/** Sessions per client address, so one host cannot take all the connections. */
class ConnectionsPerIp {
  private readonly counts = new Map<string, number>();
  private readonly counted = new Set<string>();

  constructor(private readonly max: number) {}

  admit(session: SMTPServerSession): boolean {
    const n = this.counts.get(session.remoteAddress) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(session.remoteAddress, n + 1);
    this.counted.add(session.id);
    return true;
  }

  release(session: SMTPServerSession): void {
    if (!this.counted.delete(session.id)) return;
    const n = (this.counts.get(session.remoteAddress) ?? 1) - 1;
    if (n > 0) this.counts.set(session.remoteAddress, n);
    else this.counts.delete(session.remoteAddress);
  }
}

export async function startSmtpEdge(options: SmtpEdgeOptions): Promise<SmtpEdge> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? silentLog;
  const recipientRouteCache = new RecipientRouteCache(options.directory, limits.recipientCacheTtlMs);
  const perIp = new ConnectionsPerIp(limits.maxConnectionsPerIp);
  const closedSessions = new WeakSet<SMTPServerSession>();
  const filing = {
    blobs: options.blobs,
    queue: options.queue,
    inboundQueueUrl: options.inboundQueueUrl,
    maxMessageBytes: options.mail.maxMessageBytes,
    log,
  };

  const transactionOf = (session: SMTPServerSession): Transaction => {
    const { envelope } = session;
    const rcpts = envelope.rcptTo.map((r) => r.address);
    return {
      sessionId: session.id,
      hostname: options.mail.hostname,
      helo: session.hostNameAppearsAs || '',
      reverseName: session.clientHostname && !session.clientHostname.startsWith('[') ? session.clientHostname : null,
      remoteIp: session.remoteAddress,
      protocol: transmissionProtocol({
        ehlo: session.openingCommand === 'EHLO',
        utf8: Boolean(envelope.smtpUtf8),
        tls: session.secure,
        authenticated: Boolean(session.user),
      }),
      tls: session.tlsOptions ? { protocol: session.tlsOptions.version, cipher: session.tlsOptions.standardName || session.tlsOptions.name } : null,
      mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
      // accepted by decideRecipient, so each parses
      recipients: rcpts.map((r) => parseAddress(r)?.address ?? r),
      traceRecipients: rcpts,
      authenticatedUser: session.user ? String(session.user) : null,
      isGone: () => closedSessions.has(session),
    };
  };

  const handlers: Partial<SMTPServerOptions> = {
    onConnect(session, callback) {
      if (!perIp.admit(session)) {
        log.warn('connection-refused', { ip: session.remoteAddress, reason: 'per-ip-limit' });
        return callback(toReply(new SmtpError(421, '4.7.0', 'Too many connections from your address, try again later')));
      }
      callback();
    },
    onClose(session) {
      closedSessions.add(session);
      perIp.release(session);
    },
    // RFC 5321 §4.1.1.2; the null reverse-path `<>` (address '') is accepted for bounces
    onMailFrom(address, _session, callback) {
      if (address.address !== '' && !parseAddress(address.address)) {
        return callback(toReply(new SmtpError(501, '5.1.7', 'Bad sender address syntax')));
      }
      callback();
    },
    // RFC 5321 §4.1.1.3
    onRcptTo(address, session, callback) {
      decideRecipient(address.address, Boolean(session.user), recipientRouteCache, (err) =>
        log.error('recipient-lookup-failed', { session: session.id, err }),
      ).then(
        () => callback(),
        (err: unknown) => callback(toReply(err)),
      );
    },
    // RFC 5321 §4.1.1.4
    onData(stream: SMTPServerDataStream, session, callback) {
      const transaction = transactionOf(session);
      receiveMessage(stream, transaction, filing).then(
        (queued) => {
          log.info('message-queued', {
            id: queued.id, key: queued.key, size: queued.size, recipients: transaction.recipients.length,
            ip: transaction.remoteIp, tls: transaction.tls !== null,
          });
          callback(null, DATA_REPLIES.accepted(queued.id));
        },
        (err: unknown) => {
          log.info('message-refused', {
            session: session.id, ip: transaction.remoteIp,
            reply: err instanceof SmtpError ? `${err.code} ${err.reply}` : 'client-gone', err: err instanceof SmtpError ? undefined : err,
          });
          callback(toReply(err));
        },
      );
    },
  };

  const servers: EdgeSmtpServer[] = [];
  const ports: Record<string, number> = {};
  try {
    for (const listener of options.listeners) {
      const server = new EdgeSmtpServer({
        name: options.mail.hostname,
        heloResponse: '%s Hello %s',
        size: options.mail.maxMessageBytes,
        rejectOversized: true,
        maxRecipients: options.mail.maxRecipients,
        hideENHANCEDSTATUSCODES: false,
        hideDSN: true,
        hideREQUIRETLS: true,
        key: options.tls.key,
        cert: options.tls.cert,
        minVersion: 'TLSv1.2',
        maxClients: limits.maxClients,
        socketTimeout: limits.idleTimeoutMs,
        maxCommandLength: limits.maxCommandLength,
        logger: false,
        ...(options.resolver ? { resolver: options.resolver } : {}),
        ...roleSettings(listener.role),
        ...handlers,
      });
      server.on('error', (err: Error) => log.warn('connection-error', { listener: listener.name, err }));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        const net = server.listen(listener.port, listener.host ?? '0.0.0.0');
        net.once('listening', resolve);
        net.once('error', reject);
      });
      ports[listener.name] = (server.server.address() as AddressInfo).port;
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.drain(0)));
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    ports,
    close() {
      closing ??= Promise.all(servers.map((s) => s.drain(limits.drainGraceMs))).then(() => undefined);
      return closing;
    },
  };
}
