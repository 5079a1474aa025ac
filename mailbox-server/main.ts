// Process entry of the mailbox server (Fargate task, or a child of the local supervisor): IMAP
// (143 STARTTLS, 993 TLS) and POP3 (110 STLS, 995 TLS) over the DynamoDB store and S3 blobs.
// Prints `{"event":"ready","ports":{"imap","imaps","pop3","pop3s"}}` and drains on SIGTERM/SIGINT.
//   Core config: core/config.ts coreConfigFromEnv (MAIL_*).
//   MAILBOX_HOST (default 0.0.0.0), IMAP_PORT (143), IMAPS_PORT (993), POP3_PORT (110), POP3S_PORT (995);
//   a port of -1 turns that listener off.
//   TLS_KEY_FILE + TLS_CERT_FILE (watched: a new pair written there is used for later handshakes;
//   with TLS_SECRET_ARN, the secret's new versions are written there every TLS_SECRET_POLL_SECONDS, default 300), or else TLS_DIR caching a self-signed certificate.
//   IMAP_MAX_APPEND_BYTES (APPENDLIMIT, default MAIL_MAX_MESSAGE_BYTES).
//   IMAP_IDLE_KEEPALIVE_SECONDS (`* OK Still here` during IDLE, default 120; below the load balancer's idle timeout).
//   MAILBOX_BODY_CACHE_BYTES: memory for message bytes already read (default 64 MiB; 0 keeps none).
//   MAILBOX_PREFETCH_MESSAGES: new small messages of an open mailbox read into that cache per sync
//   that finds them (default 32; 0 turns prefetch off, as does a cache of 0).
import { z } from 'zod';
import { createAwsClients, destroyAwsClients } from '../core/aws.ts';
import { BlobReadBudget } from '../core/blob-read-budget.ts';
import { BlobStore } from '../core/blobs.ts';
import { BodyCache, DEFAULT_BODY_CACHE_LIMITS } from '../core/body-cache.ts';
import { coreConfigFromEnv, parseConfig } from '../core/config.ts';
import { DynamoMaildropLocks } from '../core/store/maildrop-lock.ts';
import { createStore } from '../core/store/index.ts';
import { VerifiedCredentialCache } from '../core/verified-credentials.ts';
import { startTlsRenewal } from '../core/tls-renewal.ts';
import { checkTlsEnvironment, initialTlsCredentials, tlsEnvironmentFields, tlsRenewalSources } from '../core/tls-environment.ts';
import { LoginFailureCounter } from '../core/login-failures.ts';
import { JunkTrainer } from '../core/junk/filter.ts';
import { JunkModelStore } from '../core/store/junk-model.ts';
import { ImapJunkTraining } from './imap/junk-training.ts';
import { ConnectionsPerAddress, DEFAULT_CONNECTIONS_PER_ADDRESS } from '../core/connections-per-address.ts';
import { jsonLog } from '../core/log.ts';
import { announceReady, drainOnSignals } from '../core/service-process.ts';
import { DEFAULT_IDLE_KEEPALIVE_MS, startImapServer, type ImapListener } from './imap/server.ts';
import { startPop3Server } from './pop3/server.ts';
import { SharedMailboxHeads } from './mailbox-heads.ts';
import { MailboxStates } from './mailbox-states.ts';
import { DEFAULT_PREFETCH_LIMITS, NewMessagePrefetch } from './prefetch.ts';

const port = z.coerce.number().int().min(-1).max(65535);
const envSchema = z
  .object({
    MAILBOX_HOST: z.string().min(1).default('0.0.0.0'),
    IMAP_PORT: port.default(143),
    IMAPS_PORT: port.default(993),
    POP3_PORT: port.default(110),
    POP3S_PORT: port.default(995),
    ...tlsEnvironmentFields('mailbox-server'),
    IMAP_MAX_APPEND_BYTES: z.coerce.number().int().positive().optional(),
    IMAP_IDLE_KEEPALIVE_SECONDS: z.coerce.number().int().min(1).max(1740).default(DEFAULT_IDLE_KEEPALIVE_MS / 1000),
    MAILBOX_BODY_CACHE_BYTES: z.coerce.number().int().nonnegative().default(DEFAULT_BODY_CACHE_LIMITS.maxBytes),
    MAILBOX_PREFETCH_MESSAGES: z.coerce.number().int().nonnegative().default(DEFAULT_PREFETCH_LIMITS.perSync),
  })
  .superRefine(checkTlsEnvironment);

async function main(): Promise<void> {
  // The composition root's opening, alike smtp-edge/main.ts's on purpose: log, settings read and
  // checked once (core/tls-environment.ts for TLS), clients; what follows is this service's own.
  const log = jsonLog((line) => process.stdout.write(line), 'mailbox-server');
  const config = coreConfigFromEnv();
  const env = parseConfig(envSchema, process.env, 'mailbox server environment');
  const tls = await initialTlsCredentials(env, config.mail.hostname);
  const clients = createAwsClients(config.aws);
  const blobs = new BlobStore(clients.s3, config.resources.bucket);
  // EXPUNGE of a blob's last reference tags it; the bucket's lifecycle rule expires it later.
  // Clients log in again for every connection and poll: a password verified a moment ago skips
  // scrypt (core/verified-credentials.ts).
  const store = createStore(clients, config.resources, {
    onOrphan: (key) => blobs.markOrphan(key),
    verifiedCredentials: new VerifiedCredentialCache(),
  });
  const { directory } = store;
  // S3 reads in flight (FETCH bodies, SEARCH texts, RETR/TOP), per session and for the process
  // as a whole, kept below the S3 client's socket pool so no session can take all of it.
  const blobReads = new BlobReadBudget(blobs);
  // Message bytes this task has read, for every session of both protocols (blobs never change,
  // so nothing is invalidated); a hit costs no S3 request and no read slot.
  const bodyCache = new BodyCache({ ...DEFAULT_BODY_CACHE_LIMITS, maxBytes: env.MAILBOX_BODY_CACHE_BYTES });
  // New small messages are read into that cache when a sync finds them, before the sessions told
  // of them ask (prefetch.ts, docs/decisions/0011-read-path.md).
  const prefetch = new NewMessagePrefetch(bodyCache, blobReads, { perSync: env.MAILBOX_PREFETCH_MESSAGES });
  // Every session of both protocols on one store, so a mailbox's head read is shared by the
  // syncs of all sessions on it and any write through it is seen at once (mailbox-heads.ts), and
  // the message states of a mailbox open in several sessions are one copy, synced once for all
  // (mailbox-states.ts, docs/decisions/0025-shared-mailbox-states.md).
  const mailboxStates = new MailboxStates({}, {}, prefetch.newMessages);
  const mailStore = mailboxStates.wrap(new SharedMailboxHeads().wrap(store.mailStore));
  // One throttle for both protocols (core/login-failures.ts, as the SMTP edge uses), so a guesser
  // cannot alternate between them.
  const throttle = new LoginFailureCounter();
  // Unauthenticated connections per client address, counted across IMAP and POP3 together.
  const preLoginConnections = new ConnectionsPerAddress(DEFAULT_CONNECTIONS_PER_ADDRESS);

  // What users sort into and out of Junk teaches their junk filter (docs/decisions/0015-junk-filter.md).
  const junkTrainer = new JunkTrainer(new JunkModelStore(clients.doc, config.resources.tables), blobs, config.mail.hostname);
  const junkTraining = new ImapJunkTraining(junkTrainer, mailStore, log);

  const listeners: ImapListener[] = [];
  if (env.IMAP_PORT >= 0) listeners.push({ name: 'imap', port: env.IMAP_PORT, host: env.MAILBOX_HOST, implicitTls: false });
  if (env.IMAPS_PORT >= 0) listeners.push({ name: 'imaps', port: env.IMAPS_PORT, host: env.MAILBOX_HOST, implicitTls: true });
  const appendLimit = env.IMAP_MAX_APPEND_BYTES ?? config.mail.maxMessageBytes;
  const imap = await startImapServer({
    store: mailStore,
    mailboxStates,
    directory,
    blobs,
    blobReads,
    bodyCache,
    tls,
    hostname: config.mail.hostname,
    listeners,
    throttle,
    preLoginConnections,
    log,
    junkTraining,
    // The whole-command cap leaves room for the largest literal plus the APPEND line around it.
    limits: { wire: { maxLiteralOctets: appendLimit, maxCommandOctets: appendLimit + 1024 * 1024 }, idleKeepaliveMs: env.IMAP_IDLE_KEEPALIVE_SECONDS * 1000 },
  });
  const pop3 = await startPop3Server({
    directory,
    store: mailStore,
    blobs,
    blobReads,
    bodyCache,
    locks: new DynamoMaildropLocks(clients.doc, config.resources.tables),
    throttle,
    preLoginConnections,
    tls,
    host: env.MAILBOX_HOST,
    ports: { plain: env.POP3_PORT >= 0 ? env.POP3_PORT : null, tls: env.POP3S_PORT >= 0 ? env.POP3S_PORT : null },
    hostname: config.mail.hostname,
    log,
  });
  const ports: Record<string, number> = { ...imap.ports };
  if (pop3.ports.plain !== null) ports.pop3 = pop3.ports.plain;
  if (pop3.ports.tls !== null) ports.pop3s = pop3.ports.tls;
  const tlsRenewal = startTlsRenewal({
    current: tls, ...tlsRenewalSources(env, config.aws.region),
    apply: (credentials) => {
      imap.replaceTls(credentials);
      pop3.replaceTls(credentials);
    },
    log,
  });
  announceReady({ ports });
  // No prefetch starts once the drain begins; trainings still running after the last session, and
  // prefetch reads already sent, finish before the clients go.
  drainOnSignals(log, async () => {
    prefetch.close();
    await Promise.all([imap.close(), pop3.close()]);
    await Promise.all([junkTraining.settled(), prefetch.settled()]);
  }, () => {
    tlsRenewal.stop();
    destroyAwsClients(clients);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`mailbox-server failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
