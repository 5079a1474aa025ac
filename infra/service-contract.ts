// What the stack promises the two container services: the ports they listen on inside the task
// and the extra environment they read beside core's MAIL_* variables (coreConfigToEnv).
// The containers listen on the same unprivileged ports as the local stack (docs/ARCHITECTURE.md), so they
// run as a non-root user without CAP_NET_BIND_SERVICE; the load balancer maps 25 -> 2525 etc.

export interface PublicPort {
  /** Port clients connect to on the load balancer. */
  readonly listener: number;
  /** Port the container listens on (the local stack's port). */
  readonly container: number;
  /** Environment variable that tells the service its container port. */
  readonly env: string;
  /** RFC 6186 / RFC 8314 SRV service label, when the protocol has one. */
  readonly srv?: string;
}

export const EDGE_PORTS = {
  smtp: { listener: 25, container: 2525, env: 'SMTP_PORT' },
  submission: { listener: 587, container: 2587, env: 'SMTP_SUBMISSION_PORT', srv: '_submission._tcp' },
  smtps: { listener: 465, container: 2465, env: 'SMTP_SMTPS_PORT', srv: '_submissions._tcp' },
} as const satisfies Record<string, PublicPort>;

export const MAILBOX_PORTS = {
  imap: { listener: 143, container: 1143, env: 'IMAP_PORT', srv: '_imap._tcp' },
  imaps: { listener: 993, container: 1993, env: 'IMAPS_PORT', srv: '_imaps._tcp' },
  pop3: { listener: 110, container: 1110, env: 'POP3_PORT', srv: '_pop3._tcp' },
  pop3s: { listener: 995, container: 1995, env: 'POP3S_PORT', srv: '_pop3s._tcp' },
} as const satisfies Record<string, PublicPort>;

/**
 * Environment the container services read beside the MAIL_* core configuration. ECS injects the
 * PEM key and chain from Secrets Manager as TLS_KEY_PEM / TLS_CERT_PEM; the image's entrypoint
 * (infra/images/tls-from-env.sh) writes them to the task's scratch volume and passes the services
 * TLS_KEY_FILE / TLS_CERT_FILE, the variables they read locally too.
 */
export const SERVICE_ENV = {
  tlsKeyPem: 'TLS_KEY_PEM',
  tlsCertPem: 'TLS_CERT_PEM',
  /** The TLS secret's ARN or name: the services poll it and write its new versions over the files (core/tls-secret-poller.ts). */
  tlsSecretId: 'TLS_SECRET_ARN',
  /** Address to bind, per service: the local stack uses loopback, a task binds all interfaces. */
  edgeHost: 'SMTP_HOST',
  mailboxHost: 'MAILBOX_HOST',
} as const;

/** The Sender Rewriting Scheme key (core/srs.ts): the edge verifies bounces to SRS addresses, inbound makes and reverses them. */
export const SRS_ENV = {
  /** The secret itself: ECS injects it into the edge task from Secrets Manager. */
  secret: 'MAIL_SRS_SECRET',
  /** The secret's ARN: the inbound function reads it with GetSecretValue at its first invocation. */
  secretArn: 'MAIL_SRS_SECRET_ARN',
} as const;

/** Environment the mailbox server reads beside the MAIL_* core configuration (mailbox-server/main.ts). */
export const MAILBOX_ENV = {
  /** Seconds between `* OK Still here` lines to a client in IDLE; below the listeners' TCP idle timeout. */
  idleKeepaliveSeconds: 'IMAP_IDLE_KEEPALIVE_SECONDS',
} as const;

/**
 * TCP idle timeout of the IMAP and POP3 listeners (NLB listener attribute tcp.idle_timeout.seconds,
 * 60-6000, default 350: Elastic Load Balancing, "Update the TCP idle timeout for your Network Load
 * Balancer listener"). Above the 30-minute autologout of RFC 9051 §5.4 / RFC 3501 §5.4, so the
 * server's BYE, not a silent drop, ends an idle session, and a client re-issuing IDLE every 29
 * minutes (RFC 2177 §3) keeps its flow even without the server's keepalives.
 */
export const MAILBOX_TCP_IDLE_TIMEOUT_SECONDS = 1900;
/** The mailbox server's IDLE keepalive in the task: far inside the listener timeout above. */
export const MAILBOX_IDLE_KEEPALIVE_SECONDS = 120;

/** Environment the relay function reads for smarthost delivery. */
export const RELAY_ENV = {
  /** `ses-api`: send through the SES API with the function's role (no host, no secret); unset = SMTP. */
  smarthostKind: 'MAIL_SMARTHOST_KIND',
  /** Region of the SES API (where the identities are); default the function's. */
  sesRegion: 'MAIL_SES_REGION',
  smarthostHost: 'MAIL_SMARTHOST_HOST',
  smarthostPort: 'MAIL_SMARTHOST_PORT',
  /** ARN of a secret with JSON {"username","password"}; the function reads it on first use and caches it. */
  smarthostSecretArn: 'MAIL_SMARTHOST_SECRET_ARN',
  /** `starttls` (default; required, not opportunistic) or `implicit` (default on port 465). */
  smarthostTls: 'MAIL_SMARTHOST_TLS',
  /** Local stack only: credentials without Secrets Manager. */
  smarthostUsername: 'MAIL_SMARTHOST_USERNAME',
  smarthostPassword: 'MAIL_SMARTHOST_PASSWORD',
  /** Retry schedule (core/outbound/policy.ts); unset = Postfix-like defaults (300 s doubling to 3600 s, 5 days, warn at 4 h, 50 hops). */
  firstRetrySeconds: 'MAIL_RELAY_FIRST_RETRY_SECONDS',
  maxRetrySeconds: 'MAIL_RELAY_MAX_RETRY_SECONDS',
  maxAgeSeconds: 'MAIL_RELAY_MAX_AGE_SECONDS',
  delayWarningSeconds: 'MAIL_RELAY_DELAY_WARNING_SECONDS',
  maxHops: 'MAIL_RELAY_MAX_HOPS',
  /** JSON {"domain": "host:port"}: next hops that skip the MX lookup (direct delivery only). */
  transports: 'MAIL_RELAY_TRANSPORTS',
} as const;

/** Environment the SMTP edge reads for its listeners' policies (smtp-edge/main.ts). */
export const EDGE_ENV = {
  submissionMaxMessagesPerHour: 'SUBMISSION_MAX_MESSAGES_PER_HOUR',
  submissionMaxRecipients: 'SUBMISSION_MAX_RECIPIENTS',
  /** `true` | `false`. */
  submissionHideClientIp: 'SUBMISSION_HIDE_CLIENT_IP',
  /** `normalize` | `reject`: what a line ending in a bare LF gets, on submission (587, 465) and on the MX (25). */
  submissionBareLineFeeds: 'SUBMISSION_BARE_LF',
  mxBareLineFeeds: 'SMTP_MX_BARE_LF',
} as const;

/** Entry points, relative to the repository root: the same files the local stack runs. */
export const ENTRY_POINTS = {
  edge: 'smtp-edge/main.ts',
  mailbox: 'mailbox-server/main.ts',
  inbound: 'functions/inbound/handler.ts',
  relay: 'functions/relay/handler.ts',
} as const;
export type Component = keyof typeof ENTRY_POINTS;

/** The services' images: one Dockerfile (relative to the repository root, which is its build context), a target per service. */
export const SERVICE_DOCKERFILE = 'infra/images/Dockerfile';
export const SERVICE_IMAGE_TARGETS = { edge: 'smtp-edge', mailbox: 'mailbox-server' } as const satisfies Partial<Record<Component, string>>;
export type ServiceImage = (typeof SERVICE_IMAGE_TARGETS)[keyof typeof SERVICE_IMAGE_TARGETS];

/** Environment of the certificate export function (functions/certificate-export/handler.ts). */
export const CERTIFICATE_EXPORT_ENV = {
  /** The ACM exportable certificate of the mail host name. */
  certificateArn: 'MAIL_TLS_CERTIFICATE_ARN',
  /** The secret the services read the key and chain from. */
  secretArn: 'MAIL_TLS_SECRET_ARN',
} as const;
