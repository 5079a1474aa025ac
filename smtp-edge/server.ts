// The SMTP edge: smtp-server listeners wired to the Directory (RCPT), S3 and SQS (DATA).
// One listener per port, each with a role: MX (25), submission with STARTTLS (587), submissions (465).
import type { AddressInfo } from 'node:net';
import type { SMTPServerAuthentication, SMTPServerDataStream, SMTPServerOptions, SMTPServerResolver, SMTPServerSession } from 'smtp-server';
import { parseAddress } from '../core/addresses.ts';
import { LoginFailureCounter, type AuthThrottleOptions } from '../core/login-failures.ts';
import { attemptLogin } from '../core/login.ts';
import type { BlobStore } from '../core/blobs.ts';
import { ConnectionsPerAddress, DEFAULT_CONNECTIONS_PER_ADDRESS, type ConnectionSlot } from '../core/connections-per-address.ts';
import type { MailConfig } from '../core/config.ts';
import { SmtpError, temporaryFailure } from '../core/smtp-reply.ts';
import type { QueueSender } from '../core/queues.ts';
import { checkEnvelopeSender, checkOriginatorFields, countAgainstHourlyLimit, type OriginatorFields, type SenderRights } from './sending-policy.ts';
import { type SendingLimits, type SubmissionCounter } from '../core/sending-limits.ts';
import type { Directory } from '../core/store/types.ts';
import type { TlsCredentials } from '../core/tls.ts';
import { DATA_REPLIES, receiveMessage, type Transaction } from './data.ts';
import type { BareLineFeedPolicy } from '../core/config.ts';
import { silentLog, type ServiceLog } from '../core/log.ts';
import { EdgeSmtpServer } from './protocol.ts';
import type { SenderRewriting } from '../core/srs.ts';
import { BarePostmasterDomain, decideRecipient, QuotaUsageCache, RECIPIENT_REPLIES, RecipientRouteCache } from './recipients.ts';
import { transmissionProtocol } from './trace.ts';
import { InboundAuthenticator, type InboundAuthenticationOptions } from './authentication.ts';

/**
 * What a listener is for. `mx`: mail from the internet to local domains, no AUTH, STARTTLS
 * offered (RFC 5321). `submission`: users' clients, STARTTLS then AUTH before any mail
 * (RFC 6409, port 587). `submissions`: the same over implicit TLS (RFC 8314 §3.3, port 465).
 */
export type ListenerRole = 'mx' | 'submission' | 'submissions';

export interface ListenerOptions {
  /** Key of this listener in `SmtpEdge.ports`, e.g. `mx`. */
  readonly name: string;
  readonly role: ListenerRole;
  /** 0 for a free port. */
  readonly port: number;
  readonly host?: string;
  /** Lines ending in a bare LF: stored as CRLF (`normalize`, the default) or refused (`reject`). */
  readonly bareLineFeeds?: BareLineFeedPolicy;
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
  maxConnectionsPerIp: DEFAULT_CONNECTIONS_PER_ADDRESS,
  maxClients: 1000,
  idleTimeoutMs: 5 * 60_000,
  // RFC 5321 §4.5.3.1.4 allows 512 octets plus what extensions add (SIZE, BODY, SMTPUTF8, DSN)
  maxCommandLength: 4096,
  // ECS sends SIGKILL 30 s after SIGTERM by default
  drainGraceMs: 25_000,
  recipientCacheTtlMs: 10_000,
};

/** What the submission listeners need beyond the MX. */
export interface SubmissionSettings {
  readonly limits: SendingLimits;
  /** Shared per-account counters (DynamoDirectory.countSubmission). */
  readonly counter: SubmissionCounter;
  readonly authThrottle?: AuthThrottleOptions;
  /**
   * Privacy: leave the client's IP out of the Received: header of submitted mail, so a
   * user's home or mobile address does not travel with every message. The inbound event
   * still records it (logs, abuse handling).
   */
  readonly hideClientIp?: boolean;
  /** The clock that picks the hourly window; tests fix it so no run straddles an hour. */
  readonly now?: () => Date;
}

export interface SmtpEdgeOptions {
  readonly mail: MailConfig;
  readonly directory: Directory;
  readonly blobs: BlobStore;
  readonly queue: QueueSender;
  readonly inboundQueueUrl: string;
  readonly tls: TlsCredentials;
  /** Sender rewriting (core/srs.ts): RCPT to an SRS address of ours is accepted only when it verifies. */
  readonly srs?: SenderRewriting;
  readonly listeners: readonly ListenerOptions[];
  readonly limits?: Partial<SmtpEdgeLimits>;
  /** Required when a listener has a submission role. */
  readonly submission?: SubmissionSettings;
  /** Reverse DNS for the Received: header; the system resolver when omitted. */
  readonly resolver?: SMTPServerResolver;
  /**
   * Verification of mail from outside on the MX listeners (SPF, DKIM, DMARC, ARC; see
   * smtp-edge/authentication.ts): the DNS it asks, its budget. Omitted: nothing is verified and
   * no Authentication-Results is added (the edge's own tests of other matters run so).
   */
  readonly authentication?: InboundAuthenticationOptions;
  readonly log?: ServiceLog;
}

export interface SmtpEdge {
  /** Bound port of each listener, by listener name. */
  readonly ports: Readonly<Record<string, number>>;
  /** Drains: stops accepting, lets transactions in progress finish, then closes. */
  close(): Promise<void>;
  /** A renewed key and chain for every later handshake (465 and STARTTLS); open sessions keep theirs. */
  replaceTls(credentials: TlsCredentials): void;
}

/** smtp-server reports a handler error with `responseCode`; the text carries our enhanced code. */
function toReply(err: unknown): Error {
  const smtp = err instanceof SmtpError ? err : temporaryFailure();
  return Object.assign(new Error(smtp.reply), { responseCode: smtp.code });
}

export const AUTH_REPLIES = {
  // RFC 4954 §6
  invalid: () => new SmtpError(535, '5.7.8', 'Authentication credentials invalid'),
  // RFC 4954 §6: 454 4.7.0 temporary authentication failure; used for a locked-out IP and a store failure
  throttled: () => new SmtpError(454, '4.7.0', 'Too many failed authentication attempts, try again later'),
  unavailable: () => new SmtpError(454, '4.7.0', 'Temporary authentication failure, try again later'),
};

/** RFC 4954 §4: 530 5.7.0 to MAIL/RCPT/DATA before AUTH on a listener that requires it. */
const AUTH_REQUIRED = '5.7.0 Authentication required';

function roleSettings(role: ListenerRole, submission: SubmissionSettings | undefined): Partial<SMTPServerOptions> {
  switch (role) {
    case 'mx':
      // RFC 5321 §4.5.4: MX accepts mail for its own domains without authentication
      return { disabledCommands: ['AUTH'] };
    case 'submission':
    case 'submissions':
      if (!submission) throw new Error(`a ${role} listener needs the submission settings`);
      return {
        secure: role === 'submissions',
        authMethods: ['PLAIN', 'LOGIN'],
        // RFC 6409 §4.3: MSA requires authentication; RFC 4954 §4: and never before TLS
        authOptional: false,
        allowInsecureAuth: false,
        authRequiredMessage: AUTH_REQUIRED,
        maxRecipients: submission.limits.maxRecipientsPerMessage,
        // a user's client has no useful reverse name; the Received: header keeps the IP literal
        disableReverseLookup: true,
      };
  }
}

/** RFC 1870 §3: the SIZE the client declared on MAIL FROM, else 1 (the least a message takes). */
function declaredSize(session: SMTPServerSession): number {
  const args = session.envelope.mailFrom ? (session.envelope.mailFrom.args as Record<string, unknown> | false) : false;
  const size = args ? Number(args.SIZE) : NaN;
  return Number.isSafeInteger(size) && size > 0 ? size : 1;
}

export async function startSmtpEdge(options: SmtpEdgeOptions): Promise<SmtpEdge> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? silentLog;
  const recipientRouteCache = new RecipientRouteCache(options.directory, limits.recipientCacheTtlMs);
  const directory = options.directory;
  const quotaUsageCache = new QuotaUsageCache((account) => directory.quotaUsage(account), limits.recipientCacheTtlMs);
  const barePostmaster = new BarePostmasterDomain(directory, options.mail.hostname, limits.recipientCacheTtlMs);
  const perIp = new ConnectionsPerAddress(limits.maxConnectionsPerIp);
  const perIpSlots = new Map<string, ConnectionSlot>();
  const closedSessions = new WeakSet<SMTPServerSession>();
  const authThrottle = new LoginFailureCounter(options.submission?.authThrottle);
  const submission = options.submission;
  const authenticator = options.authentication
    ? new InboundAuthenticator(options.authentication, directory, options.mail.hostname, log, limits.recipientCacheTtlMs)
    : null;
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
      remoteIp: session.user && submission?.hideClientIp ? null : session.remoteAddress,
      clientIp: session.remoteAddress,
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
      ...(session.user ? { checkOriginators: originatorCheck(session) } : {}),
    };
  };

  const ipOf = (session: SMTPServerSession) => session.remoteAddress;

  /** The account address on success; an SmtpError (535, 454) otherwise. */
  const authenticate = async (auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<string> => {
    const ip = ipOf(session);
    const verdict = await attemptLogin(
      { ip, username: auth.username ?? '', password: auth.password ?? '', authorizationId: auth.authzid ?? '' },
      { throttle: authThrottle, directory: options.directory },
    );
    switch (verdict.kind) {
      case 'accepted':
        log.info('smtp.auth-ok', { session: session.id, ip, user: verdict.account.address, method: auth.method });
        return verdict.account.address;
      case 'locked-out':
        log.warn('smtp.auth-refused', { session: session.id, ip, reason: 'throttled' });
        throw AUTH_REPLIES.throttled();
      case 'rejected':
        log.warn('smtp.auth-failed', { session: session.id, ip, method: auth.method, delayedMs: verdict.delayedMs });
        throw AUTH_REPLIES.invalid();
      case 'unavailable':
        log.error('smtp.auth-lookup-failed', { session: session.id, err: verdict.error });
        throw AUTH_REPLIES.unavailable();
    }
  };

  /**
   * What the session's account may send as, read once per transaction at MAIL FROM (so a change
   * by `mailctl account send-as` counts from the next message) and used again at the end of DATA.
   */
  const senderRights = new WeakMap<SMTPServerSession, SenderRights>();

  const rightsOf = async (user: string): Promise<SenderRights> => {
    const account = await directory.getAccount(user);
    return {
      account: account?.address ?? user,
      sendAsDomains: account?.sendAsDomains ?? [],
      route: (address) => recipientRouteCache.resolve(address),
    };
  };

  /** RFC 6409 §6.1 sender policy, then the account's hourly limit (counted per transaction). */
  const authorizeSubmission = async (user: string, mailFrom: string, session: SMTPServerSession): Promise<void> => {
    if (!submission) throw temporaryFailure();
    try {
      const rights = await rightsOf(user);
      senderRights.set(session, rights);
      await checkEnvelopeSender(rights, mailFrom);
    } catch (err) {
      if (!(err instanceof SmtpError)) log.error('smtp.sender-lookup-failed', { session: session.id, err });
      else log.warn('smtp.sender-refused', { session: session.id, user, mailFrom });
      throw err instanceof SmtpError ? err : temporaryFailure();
    }
    try {
      await countAgainstHourlyLimit(submission.counter, user, submission.limits, submission.now?.() ?? new Date());
    } catch (err) {
      if (!(err instanceof SmtpError)) log.error('smtp.submission-count-failed', { session: session.id, err });
      else log.warn('smtp.sending-limit', { session: session.id, user });
      throw err instanceof SmtpError ? err : temporaryFailure();
    }
  };

  /** RFC 6409 §6.1 for the header: the From: and Sender: of a submitted message, at the end of DATA. */
  const originatorCheck = (session: SMTPServerSession) => async (fields: OriginatorFields): Promise<void> => {
    const rights = senderRights.get(session) ?? (await rightsOf(String(session.user)));
    try {
      await checkOriginatorFields(rights, fields);
    } catch (err) {
      if (err instanceof SmtpError) log.warn('smtp.originator-refused', { session: session.id, user: rights.account, reply: err.reply });
      throw err;
    }
  };

  const handlers: Partial<SMTPServerOptions> = {
    onConnect(session, callback) {
      const slot = perIp.admit(session.remoteAddress);
      if (!slot) {
        log.warn('smtp.connection-refused', { ip: session.remoteAddress, reason: 'per-ip-limit' });
        return callback(toReply(new SmtpError(421, '4.7.0', 'Too many connections from your address, try again later')));
      }
      perIpSlots.set(session.id, slot);
      callback();
    },
    onClose(session) {
      closedSessions.add(session);
      perIpSlots.get(session.id)?.release();
      perIpSlots.delete(session.id);
    },
    // RFC 4954 §4 AUTH with PLAIN (RFC 4616) and LOGIN; throttled per IP and per account
    onAuth(auth, session, callback) {
      authenticate(auth, session).then(
        (user) => callback(null, { user }),
        (err: unknown) => callback(toReply(err)),
      );
    },
    // RFC 5321 §4.1.1.2; on MX the null reverse-path `<>` (address '') is accepted for bounces
    onMailFrom(address, session, callback) {
      if (address.address !== '' && !parseAddress(address.address)) {
        return callback(toReply(new SmtpError(501, '5.1.7', 'Bad sender address syntax')));
      }
      if (!session.user) return callback();
      authorizeSubmission(String(session.user), address.address, session).then(
        () => callback(),
        (err: unknown) => callback(toReply(err)),
      );
    },
    // RFC 5321 §4.1.1.3
    onRcptTo(address, session, callback) {
      const quota = {
        cache: quotaUsageCache,
        messageBytes: declaredSize(session),
        onError: (err: unknown) => log.error('smtp.quota-lookup-failed', { session: session.id, err }),
      };
      const onStoreError = (err: unknown) => log.error('smtp.recipient-lookup-failed', { session: session.id, err });
      const decide = async () => {
        if (address.address.toLowerCase() === 'postmaster') {
          // RFC 5321 §4.1.1.3: <Postmaster> is ours. It is named in full from here on (smtp-server
          // keeps this object in the envelope), so the event and filing see one ordinary address.
          const domain = await barePostmaster.domain().catch((err: unknown) => {
            onStoreError(err);
            throw temporaryFailure();
          });
          if (!domain) throw RECIPIENT_REPLIES.unknownUser();
          address.address = `postmaster@${domain}`;
        }
        await decideRecipient(address.address, Boolean(session.user), recipientRouteCache, onStoreError, quota ?? undefined, options.srs);
      };
      decide().then(
        () => callback(),
        (err: unknown) => callback(toReply(err)),
      );
    },
  };

  // RFC 5321 §4.1.1.4
  const onDataFor = (role: ListenerRole, bareLineFeeds: BareLineFeedPolicy): SMTPServerOptions['onData'] => (stream: SMTPServerDataStream, session, callback) => {
    const base = transactionOf(session);
    // Mail from outside is verified; what an account submits is not (it is ours, checked at AUTH)
    const transaction: Transaction = role === 'mx' && !session.user && authenticator
      ? { ...base, authenticate: (id) => authenticator.begin({ ip: base.clientIp, helo: base.helo, mailFrom: base.mailFrom }, { id, session: session.id }) }
      : base;
    receiveMessage(stream, transaction, { ...filing, bareLineFeeds }).then(
      (queued) => {
        log.info('smtp.message-queued', {
          id: queued.id, key: queued.key, size: queued.size, recipients: transaction.recipients.length,
          ip: transaction.clientIp, tls: transaction.tls !== null,
        });
        callback(null, DATA_REPLIES.accepted(queued.id));
      },
      (err: unknown) => {
        log.info('smtp.message-refused', {
          session: session.id, ip: transaction.clientIp,
          reply: err instanceof SmtpError ? `${err.code} ${err.reply}` : 'client-gone', err: err instanceof SmtpError ? undefined : err,
        });
        callback(toReply(err));
      },
    );
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
        ...roleSettings(listener.role, options.submission),
        ...handlers,
        onData: onDataFor(listener.role, listener.bareLineFeeds ?? 'normalize'),
      });
      server.on('error', (err: Error) => log.warn('smtp.connection-error', { listener: listener.name, err }));
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
    replaceTls(credentials) {
      // smtp-server rebuilds the context its STARTTLS and implicit-TLS upgrades take (its SNI
      // callback reads it per handshake); the options it was built with keep minVersion.
      for (const server of servers) server.updateSecureContext({ key: credentials.key, cert: credentials.cert });
    },
    close() {
      closing ??= Promise.all(servers.map((s) => s.drain(limits.drainGraceMs))).then(() => undefined);
      return closing;
    },
  };
}
