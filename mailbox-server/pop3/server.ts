// The POP3 service: a cleartext listener offering STLS (RFC 2595) and an implicit-TLS listener
// (RFC 8314), each connection a Pop3Session. main.ts builds the services and calls this.
import { createServer as createPlainServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { TlsCredentials } from '../../core/tls.ts';
import type { Directory } from '../../core/store/types.ts';
import type { MaildropLocks } from '../../core/store/maildrop-lock.ts';
import { silentLog, type ServiceLog } from '../../core/log.ts';
import { ConnectionsPerAddress, DEFAULT_CONNECTIONS_PER_ADDRESS } from '../../core/connections-per-address.ts';
import { BlobReadBudget } from '../../core/blob-read-budget.ts';
import type { BodyCache } from '../../core/body-cache.ts';
import type { LoginThrottle, Pop3Blobs } from './context.ts';
import type { MaildropStore } from './maildrop.ts';
import { Pop3Session, type Pop3SessionLimits } from './session.ts';
import { err } from './wire/responses.ts';

export interface Pop3ServerOptions {
  readonly directory: Pick<Directory, 'verifyPassword'>;
  readonly store: MaildropStore;
  readonly blobs: Pop3Blobs;
  /** S3 reads in flight per process and per session, shared with IMAP; one with the defaults over `blobs` is made if absent. */
  readonly blobReads?: BlobReadBudget;
  /** Bodies this task has read, shared with IMAP; none are kept if absent. */
  readonly bodyCache?: BodyCache;
  /** One session per maildrop across processes (core/store/maildrop-lock.ts). */
  readonly locks: MaildropLocks;
  /** The login throttle shared with IMAP and the SMTP edge (core/auth-throttle.ts). */
  readonly throttle: LoginThrottle;
  /** Unauthenticated connections per client address, shared with IMAP; one with the default cap is made if absent. */
  readonly preLoginConnections?: ConnectionsPerAddress;
  readonly tls: TlsCredentials;
  /** Address to listen on; default loopback. */
  readonly host?: string;
  /** 0 picks a free port; null leaves the listener off. Defaults: 110 and 995. */
  readonly ports?: { readonly plain?: number | null; readonly tls?: number | null };
  /** Name in the greeting. */
  readonly hostname?: string;
  /** RFC 2449 §6.9 IMPLEMENTATION text. */
  readonly implementation?: string;
  /** Refuse plaintext logins from loopback too, as from any remote client (tests). */
  readonly loopbackIsRemote?: boolean;
  readonly limits?: Partial<Pop3SessionLimits>;
  readonly log?: ServiceLog;
}

export interface Pop3Server {
  /** The bound ports (null for a listener that is off). */
  readonly ports: { readonly plain: number | null; readonly tls: number | null };
  /** Stops listening and ends every session (no UPDATE: nothing is deleted), releasing their locks. */
  close(): Promise<void>;
  /** A renewed key and chain for every later handshake (POP3S and STLS); open sessions keep theirs. */
  replaceTls(credentials: TlsCredentials): void;
}

export const defaultPop3Limits: Pop3SessionLimits = {
  loginDeadlineMs: 60_000,
  idleTimeoutMs: 10 * 60_000,
  maxBadCommands: 10,
  maxLoginFailures: 3,
  leaseRenewMs: 15_000,
};

export async function startPop3Server(options: Pop3ServerOptions): Promise<Pop3Server> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? silentLog;
  let secureContext = createSecureContext({ key: options.tls.key, cert: options.tls.cert });
  const sessions = new Set<Pop3Session>();
  const preLoginConnections = options.preLoginConnections ?? new ConnectionsPerAddress(DEFAULT_CONNECTIONS_PER_ADDRESS);
  const sessionOptions = {
    services: {
      directory: options.directory,
      store: options.store,
      blobReads: options.blobReads ?? new BlobReadBudget(options.blobs),
      bodyCache: options.bodyCache ?? null,
      locks: options.locks,
      throttle: options.throttle,
      log,
      implementation: options.implementation ?? 'serverless-mail',
    },
    limits: { ...defaultPop3Limits, ...options.limits },
    hostname: options.hostname ?? 'localhost',
    loopbackIsRemote: options.loopbackIsRemote ?? false,
  };

  const open = (socket: Socket, tls: boolean) => {
    // Replies are small writes answered by the next command: without this, Nagle's algorithm
    // and the client's delayed ACK add ~40 ms to every exchange (seen in bench/mailbox.ts).
    socket.setNoDelay(true);
    const remote = socket.remoteAddress ?? 'unknown';
    const preLoginSlot = preLoginConnections.admit(remote);
    if (!preLoginSlot) {
      // RFC 1939 §4 lets the greeting be -ERR; RFC 3206 §4 SYS/TEMP: a passing condition.
      log.warn('pop3.connection-refused', { ip: remote, reason: 'per-address-pre-login-limit' });
      socket.on('error', () => undefined);
      socket.end(err('Too many connections from your address, try again later', 'SYS/TEMP'));
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    const session = new Pop3Session(socket, tls, {
      ...sessionOptions,
      // Read when the client sends STLS (RFC 2595 §4), so a replaced certificate applies.
      get secureContext() {
        return tls ? null : secureContext;
      },
    }, { preLoginSlot });
    sessions.add(session);
    void session.finished.then(() => sessions.delete(session));
  };

  const plainServer = createPlainServer((socket) => open(socket, false));
  const tlsServer = createTlsServer({ key: options.tls.key, cert: options.tls.cert }, (socket) => open(socket, true));
  // A failed handshake on the TLS port concerns one client, not the server.
  tlsServer.on('tlsClientError', (error, socket) => {
    log.info('pop3.tls-failed', { ip: socket.remoteAddress, err: error });
    socket.destroy();
  });

  const listening: Server[] = [];
  const listen = async (server: Server, port: number | null | undefined, fallback: number): Promise<number | null> => {
    if (port === null) return null;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port ?? fallback, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listening.push(server);
    return (server.address() as AddressInfo).port;
  };

  const stopListening = () =>
    Promise.all(listening.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  let ports: Pop3Server['ports'];
  try {
    ports = {
      plain: await listen(plainServer, options.ports?.plain, 110),
      tls: await listen(tlsServer, options.ports?.tls, 995),
    };
  } catch (error) {
    await stopListening();
    throw error;
  }
  log.info('pop3.listening', { host, ...ports });

  return {
    ports,
    replaceTls(credentials) {
      secureContext = createSecureContext({ key: credentials.key, cert: credentials.cert });
      tlsServer.setSecureContext({ key: credentials.key, cert: credentials.cert });
    },
    async close() {
      const stopped = stopListening();
      const ended = [...sessions].map((session) => {
        session.destroy();
        return session.finished;
      });
      await Promise.all([stopped, ...ended]);
    },
  };
}
