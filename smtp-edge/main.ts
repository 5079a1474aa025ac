// Process entry of the SMTP edge (Fargate task, or a child of the local supervisor): reads the
// configuration from the environment, listens, prints `{"event":"ready","ports":{...}}`, and
// drains on SIGTERM/SIGINT (stop accepting, finish transactions in flight, exit).
//   Core config: see core/config.ts coreConfigFromEnv (MAIL_*).
//   SMTP_PORT (MX, default 25), SMTP_HOST (default 0.0.0.0),
//   SMTP_SUBMISSION_PORT (587 STARTTLS + AUTH) and SMTP_SMTPS_PORT (465 implicit TLS), the names
//   of infra/service-contract.ts: each listener runs only when its port is set,
//   SUBMISSION_MAX_MESSAGES_PER_HOUR (default 200, per account, shared through DynamoDB),
//   SUBMISSION_MAX_RECIPIENTS (default 100 per message), SUBMISSION_HIDE_CLIENT_IP (true|false,
//   default false: leave the client IP out of submitted mail's Received: header),
//   SMTP_MX_BARE_LF and SUBMISSION_BARE_LF (normalize|reject, default normalize: what a line
//   ending in a bare LF gets on the MX and on submission, see line-endings.ts),
//   TLS_KEY_FILE + TLS_CERT_FILE (watched: a new pair written there is used for later handshakes;
//   with TLS_SECRET_ARN, the secret's new versions are written there every TLS_SECRET_POLL_SECONDS, default 300), or else TLS_DIR: folder caching a self-signed certificate
//   (default <tmpdir>/mail-smtp-edge-tls),
//   MAIL_SRS_SECRET (core/srs.ts: accept bounces to the SRS addresses of forwarded mail),
//   SMTP_MAX_CONNECTIONS_PER_IP, SMTP_IDLE_TIMEOUT_MS, SMTP_DRAIN_GRACE_MS (optional limits),
//   SMTP_MX_VERIFY (true|false, default true: SPF, DKIM, DMARC and ARC on the MX, smtp-edge/authentication.ts),
//   SMTP_MX_DNS_BUDGET_MS (default 5000: the DNS time one message may take after its final dot),
//   SMTP_MX_DNS_SERVERS (comma-separated resolvers for the checks, default the system's).
import { promises as dns } from 'node:dns';
import { z } from 'zod';
import { createAwsClients, destroyAwsClients } from '../core/aws.ts';
import { BlobStore } from '../core/blobs.ts';
import { BARE_LINE_FEED_POLICIES, coreConfigFromEnv, parseConfig } from '../core/config.ts';
import { QueueSender } from '../core/queues.ts';
import { DEFAULT_SENDING_LIMITS } from '../core/sending-limits.ts';
import { VerifiedCredentialCache } from '../core/verified-credentials.ts';
import { createStore } from '../core/store/index.ts';
import { senderRewritingFromEnv } from '../core/srs.ts';
import { startTlsRenewal } from '../core/tls-renewal.ts';
import { checkTlsEnvironment, initialTlsCredentials, tlsEnvironmentFields, tlsRenewalSources } from '../core/tls-environment.ts';
import { jsonLog } from '../core/log.ts';
import { announceReady, drainOnSignals } from '../core/service-process.ts';
import { startSmtpEdge, type ListenerOptions, type SmtpEdgeLimits } from './server.ts';
import { DEFAULT_DNS_BUDGET_MS, type InboundAuthenticationOptions } from './authentication.ts';

/**
 * The DNS the MX checks ask: the system's resolvers (or those named), each query given up after
 * 2 s and tried twice; the per-message budget bounds the total (smtp-edge/authentication.ts).
 */
function authenticationDns(servers: string | undefined, budgetMs: number): InboundAuthenticationOptions {
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  if (servers) resolver.setServers(servers.split(',').map((s) => s.trim()).filter(Boolean));
  return { resolve: (name, rrtype) => resolver.resolve(name, rrtype), budgetMs };
}

const port = z.coerce.number().int().min(0).max(65535);
const edgeEnvSchema = z.object({
  SMTP_PORT: port.default(25),
  SMTP_HOST: z.string().min(1).default('0.0.0.0'),
  SMTP_SUBMISSION_PORT: port.optional(),
  SMTP_SMTPS_PORT: port.optional(),
  SUBMISSION_MAX_MESSAGES_PER_HOUR: z.coerce.number().int().positive().default(DEFAULT_SENDING_LIMITS.maxMessagesPerHour),
  SUBMISSION_MAX_RECIPIENTS: z.coerce.number().int().positive().default(DEFAULT_SENDING_LIMITS.maxRecipientsPerMessage),
  SUBMISSION_HIDE_CLIENT_IP: z.enum(['true', 'false']).default('false'),
  SUBMISSION_BARE_LF: z.enum(BARE_LINE_FEED_POLICIES).default('normalize'),
  SMTP_MX_BARE_LF: z.enum(BARE_LINE_FEED_POLICIES).default('normalize'),
  ...tlsEnvironmentFields('smtp-edge'),
  SMTP_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().positive().optional(),
  SMTP_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  SMTP_DRAIN_GRACE_MS: z.coerce.number().int().nonnegative().optional(),
  SMTP_MX_VERIFY: z.enum(['true', 'false']).default('true'),
  SMTP_MX_DNS_BUDGET_MS: z.coerce.number().int().positive().default(DEFAULT_DNS_BUDGET_MS),
  SMTP_MX_DNS_SERVERS: z.string().optional(),
}).superRefine(checkTlsEnvironment);

async function main(): Promise<void> {
  // The composition root's opening, alike mailbox-server/main.ts's on purpose (see there).
  const log = jsonLog((line) => process.stdout.write(line), 'smtp-edge');
  const config = coreConfigFromEnv();
  const env = parseConfig(edgeEnvSchema, process.env, 'SMTP edge environment');
  const tls = await initialTlsCredentials(env, config.mail.hostname);
  const clients = createAwsClients(config.aws);
  const limits: Partial<Record<keyof SmtpEdgeLimits, number>> = {};
  if (env.SMTP_MAX_CONNECTIONS_PER_IP !== undefined) limits.maxConnectionsPerIp = env.SMTP_MAX_CONNECTIONS_PER_IP;
  if (env.SMTP_IDLE_TIMEOUT_MS !== undefined) limits.idleTimeoutMs = env.SMTP_IDLE_TIMEOUT_MS;
  if (env.SMTP_DRAIN_GRACE_MS !== undefined) limits.drainGraceMs = env.SMTP_DRAIN_GRACE_MS;

  // Submission clients authenticate per connection: a password verified a moment ago skips scrypt.
  const { directory } = createStore(clients, config.resources, { verifiedCredentials: new VerifiedCredentialCache() });
  const srs = senderRewritingFromEnv(process.env);
  const listeners: ListenerOptions[] = [{ name: 'mx', role: 'mx', port: env.SMTP_PORT, host: env.SMTP_HOST, bareLineFeeds: env.SMTP_MX_BARE_LF }];
  const submissionPort = env.SMTP_SUBMISSION_PORT;
  const submissionsPort = env.SMTP_SMTPS_PORT;
  if (submissionPort !== undefined) listeners.push({ name: 'submission', role: 'submission', port: submissionPort, host: env.SMTP_HOST, bareLineFeeds: env.SUBMISSION_BARE_LF });
  if (submissionsPort !== undefined) listeners.push({ name: 'submissions', role: 'submissions', port: submissionsPort, host: env.SMTP_HOST, bareLineFeeds: env.SUBMISSION_BARE_LF });

  const edge = await startSmtpEdge({
    mail: config.mail,
    directory,
    blobs: new BlobStore(clients.s3, config.resources.bucket),
    queue: new QueueSender(clients.sqs),
    inboundQueueUrl: config.resources.queues.inbound,
    tls,
    listeners,
    // Bounces of forwarded mail come back to SRS addresses (core/srs.ts).
    ...(srs ? { srs } : {}),
    limits,
    // Mail from outside is verified on the MX before its 250 (docs/decisions/0014-inbound-authentication.md).
    ...(env.SMTP_MX_VERIFY === 'true' ? { authentication: authenticationDns(env.SMTP_MX_DNS_SERVERS, env.SMTP_MX_DNS_BUDGET_MS) } : {}),
    submission: {
      limits: { maxMessagesPerHour: env.SUBMISSION_MAX_MESSAGES_PER_HOUR, maxRecipientsPerMessage: env.SUBMISSION_MAX_RECIPIENTS },
      counter: directory,
      hideClientIp: env.SUBMISSION_HIDE_CLIENT_IP === 'true',
    },
    log,
  });
  const tlsRenewal = startTlsRenewal({
    current: tls, ...tlsRenewalSources(env, config.aws.region),
    apply: (credentials) => edge.replaceTls(credentials),
    log,
  });
  announceReady({ ports: edge.ports });
  drainOnSignals(log, () => edge.close(), () => {
    tlsRenewal.stop();
    destroyAwsClients(clients);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`smtp-edge: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
