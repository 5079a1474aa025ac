// The IMAP service: its listeners (cleartext with STARTTLS on 143, implicit TLS on 993, from
// line-protocol/listeners.ts), one ImapSession per connection, and a drain on close (stop
// accepting, BYE to every session, wait for sockets).
import type { Socket } from 'node:net';
import { BlobReadBudget } from '../../core/blob-read-budget.ts';
import type { BlobStore } from '../../core/blobs.ts';
import type { BodyCache } from '../../core/body-cache.ts';
import type { Directory, MessageStore } from '../../core/store/types.ts';
import type { TlsCredentials } from '../../core/tls.ts';
import { LoginFailureCounter } from '../../core/login-failures.ts';
import { ConnectionsPerAddress, DEFAULT_CONNECTIONS_PER_ADDRESS } from '../../core/connections-per-address.ts';
import type { ImapServices } from './context.ts';
import { silentLog, type ServiceLog } from '../../core/log.ts';
import { startLineListeners, type LineListener } from '../line-protocol/listeners.ts';
import { MailboxStates } from '../mailbox-states.ts';
import { MailboxPoller } from './mailbox-poller.ts';
import { ImapSession, type ImapSessionLimits } from './session.ts';
import { defaultImapWireLimits, preLoginImapWireLimits, type ImapWireLimits } from './wire/limits.ts';
import { statusLine } from './wire/writer.ts';
import type { ImapJunkTraining } from './junk-training.ts';

/** Well inside the NLB's default 350 s flow timeout and home routers' NAT timeouts. */
export const DEFAULT_IDLE_KEEPALIVE_MS = 120_000;

/** An IMAP port: "imap" (143, STARTTLS) or "imaps" (993, implicit TLS); loopback unless a host is given. */
export type ImapListener = LineListener;

export interface ImapServerOptions {
  readonly store: MessageStore;
  /**
   * Message states shared by every session of the task (../mailbox-states.ts); one is made if
   * absent. `store` is used through it (MailboxStates.wrap, which leaves a store it wrapped as it is).
   */
  readonly mailboxStates?: MailboxStates;
  readonly directory: Pick<Directory, 'verifyPassword' | 'quotaUsage'>;
  readonly blobs: Pick<BlobStore, 'put' | 'getRange' | 'getStream'>;
  /** S3 reads in flight per process and per session, shared with POP3; one with the defaults over `blobs` is made if absent. */
  readonly blobReads?: BlobReadBudget;
  /** Bodies this task has read, shared with POP3; none are kept if absent. */
  readonly bodyCache?: BodyCache;
  readonly tls: TlsCredentials;
  readonly hostname: string;
  readonly listeners: readonly ImapListener[];
  /** Shared with POP3 so a guesser cannot alternate protocols; one is made if absent. */
  readonly throttle?: LoginFailureCounter;
  /**
   * Unauthenticated connections per client address, shared with POP3 so the cap is per host, not
   * per protocol; one with the default cap is made if absent.
   */
  readonly preLoginConnections?: ConnectionsPerAddress;
  readonly log?: ServiceLog;
  /** Teaches the junk filter from what users sort (mailbox-server/imap/junk-training.ts); none if absent. */
  readonly junkTraining?: ImapJunkTraining;
  /**
   * idlePollMs: how often a watched mailbox item is read (RFC 2177 gives no interval; deliveries must show within 2 s).
   * idleKeepaliveMs: how often an idling session hears `* OK Still here` (default 2 minutes, as Dovecot).
   */
  readonly limits?: Partial<Omit<ImapSessionLimits, 'wire' | 'preLoginWire'>> & {
    readonly wire?: Partial<ImapWireLimits>;
    readonly preLoginWire?: Partial<ImapWireLimits>;
    readonly idlePollMs?: number;
    readonly idleKeepaliveMs?: number;
  };
  /** Tests: treat loopback clients as remote, so cleartext LOGIN is refused (LOGINDISABLED). */
  readonly loopbackIsRemote?: boolean;
}

export interface ImapServer {
  readonly ports: Readonly<Record<string, number>>;
  readonly sessionCount: number;
  /** Client input held by all sessions (what a flood of half-sent commands costs in memory). */
  readonly bufferedOctets: number;
  /** Mailboxes the change watcher polls now (sessions in IDLE on them). */
  readonly watchedMailboxes: number;
  /** Stops accepting, says BYE to every session and waits for the sockets to close. */
  close(): Promise<void>;
  /** A renewed key and chain for every later handshake (IMAPS and STARTTLS); open sessions keep theirs. */
  replaceTls(credentials: TlsCredentials): void;
}

export async function startImapServer(options: ImapServerOptions): Promise<ImapServer> {
  const wire: ImapWireLimits = { ...defaultImapWireLimits, ...options.limits?.wire };
  const limits: ImapSessionLimits = {
    loginDeadlineMs: options.limits?.loginDeadlineMs ?? 60_000,
    idleTimeoutMs: options.limits?.idleTimeoutMs ?? 30 * 60_000,
    maxBadCommands: options.limits?.maxBadCommands ?? 10,
    wire,
    preLoginWire: { ...preLoginImapWireLimits, ...options.limits?.preLoginWire },
  };
  const preLoginConnections = options.preLoginConnections ?? new ConnectionsPerAddress(DEFAULT_CONNECTIONS_PER_ADDRESS);
  const log = options.log ?? silentLog;
  const mailboxStates = options.mailboxStates ?? new MailboxStates();
  const services: ImapServices = {
    store: mailboxStates.wrap(options.store),
    mailboxStates,
    directory: options.directory,
    blobs: options.blobs,
    blobReads: options.blobReads ?? new BlobReadBudget(options.blobs),
    bodyCache: options.bodyCache ?? null,
    throttle: options.throttle ?? new LoginFailureCounter(),
    log,
    hostname: options.hostname,
    appendLimit: wire.maxLiteralOctets,
    watcher: new MailboxPoller(options.store, options.limits?.idlePollMs ?? 1000, log),
    idleKeepaliveMs: options.limits?.idleKeepaliveMs ?? DEFAULT_IDLE_KEEPALIVE_MS,
    junkTraining: options.junkTraining ?? null,
  };
  const sessions = new Set<ImapSession>();
  const sockets = new Set<Socket>();
  const listening = await startLineListeners({
    protocol: 'imap',
    listeners: options.listeners,
    tls: options.tls,
    preLoginConnections,
    // RFC 3501 §7.1.5: BYE as the greeting refuses the connection; RFC 5530 §3 UNAVAILABLE.
    refusal: statusLine(null, 'BYE', 'Too many connections from your address, try again later', 'UNAVAILABLE'),
    log,
    accept: ({ socket, secure, preLoginSlot, secureContext }) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const session = new ImapSession(socket, {
        preLoginSlot,
        services,
        limits,
        // Read when the client sends STARTTLS (RFC 9051 §6.2.1), so a replaced certificate applies.
        get secureContext() {
          return secureContext();
        },
        secure,
        loopbackIsRemote: options.loopbackIsRemote ?? false,
        onClose: () => sessions.delete(session),
      });
      sessions.add(session);
      void session.run();
    },
  });

  return {
    ports: listening.ports,
    get sessionCount() {
      return sessions.size;
    },
    get bufferedOctets() {
      let octets = 0;
      for (const session of sessions) octets += session.bufferedOctets;
      return octets;
    },
    get watchedMailboxes() {
      return services.watcher.watchedMailboxes;
    },
    replaceTls(credentials) {
      listening.replaceTls(credentials);
    },
    async close() {
      const closed = listening.stopListening();
      for (const session of [...sessions]) await session.shutdown();
      services.watcher.close();
      const deadline = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 3000);
      await closed;
      clearTimeout(deadline);
    },
  };
}
