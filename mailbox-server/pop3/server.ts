// The POP3 service: a cleartext listener offering STLS (RFC 2595) and an implicit-TLS listener
// (RFC 8314), from line-protocol/listeners.ts, each connection a Pop3Session. main.ts builds the
// services and calls this.
import type { TlsCredentials } from '../../core/tls.ts';
import type { Directory } from '../../core/store/types.ts';
import type { MaildropLocks } from '../../core/store/maildrop-lock.ts';
import { silentLog, type ServiceLog } from '../../core/log.ts';
import { ConnectionsPerAddress, DEFAULT_CONNECTIONS_PER_ADDRESS } from '../../core/connections-per-address.ts';
import { BlobReadBudget } from '../../core/blob-read-budget.ts';
import type { BodyCache } from '../../core/body-cache.ts';
import type { LoginThrottle, Pop3Blobs } from './context.ts';
import type { MaildropStore } from './maildrop.ts';
import { DEFAULT_BIND_HOST, startLineListeners, type LineListener } from '../line-protocol/listeners.ts';
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
  /** The login throttle shared with IMAP and the SMTP edge (core/login-failures.ts). */
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
  const log = options.log ?? silentLog;
  const sessions = new Set<Pop3Session>();
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
  const host = options.host ?? DEFAULT_BIND_HOST;
  const listeners: LineListener[] = [];
  if (options.ports?.plain !== null) listeners.push({ name: 'plain', port: options.ports?.plain ?? 110, host, implicitTls: false });
  if (options.ports?.tls !== null) listeners.push({ name: 'tls', port: options.ports?.tls ?? 995, host, implicitTls: true });

  const listening = await startLineListeners({
    protocol: 'pop3',
    listeners,
    tls: options.tls,
    preLoginConnections: options.preLoginConnections ?? new ConnectionsPerAddress(DEFAULT_CONNECTIONS_PER_ADDRESS),
    // RFC 1939 §4 lets the greeting be -ERR; RFC 3206 §4 SYS/TEMP: a passing condition.
    refusal: err('Too many connections from your address, try again later', 'SYS/TEMP'),
    log,
    accept: ({ socket, secure, preLoginSlot, secureContext }) => {
      const session = new Pop3Session(socket, secure, {
        ...sessionOptions,
        // Read when the client sends STLS (RFC 2595 §4), so a replaced certificate applies.
        get secureContext() {
          return secure ? null : secureContext();
        },
      }, { preLoginSlot });
      sessions.add(session);
      void session.finished.then(() => sessions.delete(session));
    },
  });

  return {
    ports: { plain: listening.ports.plain ?? null, tls: listening.ports.tls ?? null },
    replaceTls(credentials) {
      listening.replaceTls(credentials);
    },
    async close() {
      const stopped = listening.stopListening();
      const ended = [...sessions].map((session) => {
        session.destroy();
        return session.finished;
      });
      await Promise.all([stopped, ...ended]);
    },
  };
}
