// The embedded local stack: emulators, resources, demo account, TLS and every service as its
// own supervised process. Used by `npm start` (local/main.ts) and by the tests (test/helpers/stack.ts).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../core/aws.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { coreConfigToEnv, type CoreConfig } from '../core/config.ts';
import { loadOrCreateSelfSignedCertificate } from '../core/tls.ts';
import { ensureResources } from './bootstrap.ts';
import { EMULATOR_CREDENTIALS } from './emulators.ts';
import { Supervisor, type ComponentSpec, type ReadyInfo, type SupervisorEvent } from './supervisor.ts';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export type ComponentName = 'emulators' | 'smtp-edge' | 'inbound-runner' | 'relay-runner' | 'mailbox-server';

export interface LocalPorts {
  /** SMTP, the MX (25 in AWS). */
  readonly smtp: number;
  /** Submission with STARTTLS (587 in AWS). */
  readonly submission: number;
  /** Submission over implicit TLS (465 in AWS). */
  readonly smtps: number;
  readonly imap: number;
  readonly imaps: number;
  readonly pop3: number;
  readonly pop3s: number;
  /** fauxqs: S3 and SQS. */
  readonly objectQueue: number;
  /** dynalite: DynamoDB. */
  readonly dynamo: number;
}
export type PortName = keyof LocalPorts;

export const DEFAULT_PORTS: LocalPorts = {
  smtp: 2525,
  submission: 2587,
  smtps: 2465,
  imap: 1143,
  imaps: 1993,
  pop3: 1110,
  pop3s: 1995,
  objectQueue: 4566,
  dynamo: 8000,
};

export const DEMO_DOMAIN = 'example.test';
export const DEMO_ADDRESS = `demo@${DEMO_DOMAIN}`;
/** Written on first run (mode 0600): `{ address, password }`. */
export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';
/** Read by mailctl (cli/target.ts): `{ config: CoreConfig }`. */
export const STACK_FILE = 'stack.json';
/** Present once the first-run set-up (demo domain and account) has completed. */
const FIRST_RUN_MARKER = 'initialised.json';
const RESOURCE_PREFIX = 'mail';

/** Each component's entry point, in start order. */
const COMPONENT_ENTRIES: Record<ComponentName, string> = {
  emulators: 'local/processes/emulators.ts',
  'inbound-runner': 'local/processes/inbound-runner.ts',
  'relay-runner': 'local/processes/relay-runner.ts',
  'smtp-edge': 'smtp-edge/main.ts',
  'mailbox-server': 'mailbox-server/main.ts',
};

export interface LocalStackOptions {
  /** Where emulator data, TLS material and the demo credentials live. */
  readonly dataDir: string;
  /** Ports to listen on; 0 = a free one (the bound port is reported in `ports`). Defaults: DEFAULT_PORTS. */
  readonly ports?: Partial<LocalPorts>;
  /** Components to run; `emulators` always runs. Default: every component. */
  readonly components?: readonly ComponentName[];
  /** The host name the services announce (greeting, Received:, certificate). Default `localhost`. */
  readonly hostname?: string;
  /** Address listeners bind to. Default 127.0.0.1. */
  readonly bindHost?: string;
  /** Concurrent batches of the inbound runner. Default 2. */
  readonly runnerConcurrency?: number;
  /** Extra environment for one component (tests: shorter timeouts). */
  readonly componentEnv?: Partial<Record<ComponentName, Record<string, string>>>;
  /** Component output (JSON log lines); default: prefixed onto our stdout/stderr. */
  readonly log?: (component: string, line: string, stream: 'stdout' | 'stderr') => void;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** SIGTERM → SIGKILL grace when stopping. Default 10 s (the edge drains sessions). */
  readonly graceMs?: number;
  /** AWS's round-trip latencies, added by every component's SDK clients (core/aws/latency.ts). Default: none. */
  readonly latency?: LatencyModel | null;
}

export interface DemoAccount {
  readonly address: string;
  /** Only on the run that created the account; later runs read it from `credentialsFile`. */
  readonly password: string | null;
  readonly credentialsFile: string;
  readonly createdNow: boolean;
}

export interface LocalStack {
  readonly dataDir: string;
  readonly config: CoreConfig;
  /** Ports actually bound, for the components that run (others keep their requested value). */
  readonly ports: LocalPorts;
  /** The ports some component reported listening on in its ready line. */
  readonly listening: ReadonlySet<PortName>;
  readonly endpoints: Readonly<Record<string, string>>;
  readonly components: readonly ComponentName[];
  readonly demo: DemoAccount;
  readonly tls: { readonly keyFile: string; readonly certFile: string };
  readonly clients: AwsClients;
  /** Sends a signal (fault tests); the supervisor restarts the component with back-off. */
  kill(component: ComponentName, signal?: NodeJS.Signals): void;
  /** Graceful stop and start of one component; resolves when it is ready again. */
  restart(component: ComponentName): Promise<ReadyInfo>;
  /** Resolves when the component (possibly being restarted) is ready. */
  whenReady(component: ComponentName): Promise<ReadyInfo>;
  pid(component: ComponentName): number | undefined;
  /** Stops every component (services first, emulators last) and waits for them to exit. */
  stop(): Promise<void>;
}

/** Names components may use for a listener in their ready line's `ports`, mapped onto ours. */
const PORT_ALIASES: Record<string, PortName> = {
  mx: 'smtp',
  smtp: 'smtp',
  submission: 'submission',
  smtps: 'smtps',
  submissions: 'smtps',
  imap: 'imap',
  imaps: 'imaps',
  pop3: 'pop3',
  pop3s: 'pop3s',
  objectQueue: 'objectQueue',
  dynamo: 'dynamo',
};

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = options.dataDir;
  mkdirSync(dataDir, { recursive: true });
  const hostname = options.hostname ?? 'localhost';
  const bindHost = options.bindHost ?? '127.0.0.1';
  // Mutable per stack: ports requested as 0 are pinned to the bound one, so a restarted
  // component comes back where its clients expect it.
  const ports: Record<PortName, number> = { ...DEFAULT_PORTS, ...options.ports };
  const all = Object.keys(COMPONENT_ENTRIES) as ComponentName[];
  const wanted = new Set<ComponentName>(['emulators', ...(options.components ?? all)]);
  const components = all.filter((c) => wanted.has(c));
  const entry = (c: ComponentName) => join(REPO_ROOT, COMPONENT_ENTRIES[c]);

  const supervisor = new Supervisor({
    ...(options.log ? { log: options.log } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    graceMs: options.graceMs ?? 10_000,
    cwd: REPO_ROOT,
  });
  const listening = new Set<PortName>();
  const pinPorts = (info: ReadyInfo, single?: PortName) => {
    const reported = info.ports;
    if (reported && typeof reported === 'object') {
      for (const [name, port] of Object.entries(reported as Record<string, unknown>)) {
        const ours = PORT_ALIASES[name];
        if (ours && typeof port === 'number') {
          ports[ours] = port;
          listening.add(ours);
        }
      }
    } else if (single && typeof info.port === 'number') {
      ports[single] = info.port;
      listening.add(single);
    }
  };
  const extra = (c: ComponentName) => options.componentEnv?.[c] ?? {};

  let clients: AwsClients | undefined;
  try {
    const emulators = await supervisor.start({
      name: 'emulators',
      entry: entry('emulators'),
      env: () => ({
        MAIL_DATA_DIR: dataDir,
        EMULATOR_HOST: bindHost,
        EMULATOR_OBJECT_QUEUE_PORT: String(ports.objectQueue),
        EMULATOR_DYNAMO_PORT: String(ports.dynamo),
        ...extra('emulators'),
      }),
    });
    pinPorts(emulators);
    const objectQueueEndpoint = String(emulators.objectQueueEndpoint);
    const dynamoEndpoint = String(emulators.dynamoEndpoint);
    const aws: CoreConfig['aws'] = {
      region: 'us-east-1',
      endpoints: { s3: objectQueueEndpoint, sqs: objectQueueEndpoint, dynamodb: dynamoEndpoint },
      credentials: { ...EMULATOR_CREDENTIALS },
      latency: options.latency ?? null,
    };
    // set-up work (tables, demo account) runs at the emulators' own speed
    clients = createAwsClients({ ...aws, latency: null });
    const resources = await ensureResources(clients, RESOURCE_PREFIX);
    const config: CoreConfig = { aws, resources, mail: { hostname, maxMessageBytes: 25 * 1024 * 1024, maxRecipients: 100 } };
    writePrivateFile(join(dataDir, STACK_FILE), `${JSON.stringify({ config }, null, 2)}\n`);

    const demo = await ensureDemoAccount(clients, config, dataDir);
    const tls = await ensureTlsFiles(dataDir, hostname);
    const srsSecret = ensureSrsSecret(dataDir);

    const coreEnv = coreConfigToEnv(config);
    /** A Lambda function's runner, with the environment Lambda and the stack give the function. */
    const queueFunction = (c: 'inbound-runner' | 'relay-runner', functionName: string): ComponentSpec => ({
      name: c,
      entry: entry(c),
      env: () => ({
        ...coreEnv,
        AWS_REGION: config.aws.region,
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        POWERTOOLS_SERVICE_NAME: functionName,
        POWERTOOLS_METRICS_NAMESPACE: 'Mail',
        RUNNER_CONCURRENCY: String(options.runnerConcurrency ?? 2),
        // Forwards get SRS senders, and bounces to them are routed back (core/srs.ts).
        ...(c === 'inbound-runner' ? { MAIL_SRS_SECRET: srsSecret } : {}),
        ...extra(c),
      }),
    });
    const specs: Partial<Record<ComponentName, ComponentSpec>> = {
      'inbound-runner': queueFunction('inbound-runner', 'mail-inbound'),
      'relay-runner': queueFunction('relay-runner', 'mail-relay'),
      'smtp-edge': {
        name: 'smtp-edge',
        entry: entry('smtp-edge'),
        env: () => ({
          ...coreEnv,
          SMTP_HOST: bindHost,
          SMTP_PORT: String(ports.smtp),
          SMTP_SUBMISSION_PORT: String(ports.submission),
          SMTP_SMTPS_PORT: String(ports.smtps),
          TLS_KEY_FILE: tls.keyFile,
          TLS_CERT_FILE: tls.certFile,
          MAIL_SRS_SECRET: srsSecret,
          ...extra('smtp-edge'),
        }),
      },
      'mailbox-server': {
        name: 'mailbox-server',
        entry: entry('mailbox-server'),
        env: () => ({
          ...coreEnv,
          MAILBOX_HOST: bindHost,
          IMAP_PORT: String(ports.imap),
          IMAPS_PORT: String(ports.imaps),
          POP3_PORT: String(ports.pop3),
          POP3S_PORT: String(ports.pop3s),
          TLS_KEY_FILE: tls.keyFile,
          TLS_CERT_FILE: tls.certFile,
          ...extra('mailbox-server'),
        }),
      },
    };
    const services = components.filter((c) => c !== 'emulators');
    const started = await Promise.allSettled(
      services.map(async (c) => {
        const info = await supervisor.start(specs[c]!);
        pinPorts(info, c === 'smtp-edge' ? 'smtp' : undefined);
      }),
    );
    const failed = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length) throw new AggregateError(failed.map((f) => f.reason), failed.map((f) => String((f.reason as Error).message ?? f.reason)).join('\n'));

    const endpoints: Record<string, string> = { s3: objectQueueEndpoint, sqs: objectQueueEndpoint, dynamodb: dynamoEndpoint };
    const schemes: Partial<Record<PortName, string>> = {
      smtp: 'smtp', submission: 'smtp', smtps: 'smtps', imap: 'imap', imaps: 'imaps', pop3: 'pop3', pop3s: 'pop3s',
    };
    for (const name of listening) {
      const scheme = schemes[name];
      if (scheme) endpoints[name] = `${scheme}://${bindHost}:${ports[name]}`;
    }
    const ownClients = clients;
    return {
      dataDir,
      config,
      ports,
      listening,
      endpoints,
      components,
      demo,
      tls,
      clients: ownClients,
      kill: (c, signal = 'SIGKILL') => supervisor.kill(c, signal),
      restart: (c) => supervisor.restart(c),
      whenReady: (c) => supervisor.whenReady(c),
      pid: (c) => supervisor.pid(c),
      async stop() {
        await supervisor.stop();
        destroyAwsClients(ownClients);
      },
    };
  } catch (err) {
    await supervisor.stop();
    if (clients) destroyAwsClients(clients);
    throw err;
  }
}

/**
 * First run only: the demo domain and account, with a random password written to a file only
 * the user can read. Later runs leave the account (and any password changed since) alone.
 */
async function ensureDemoAccount(clients: AwsClients, config: CoreConfig, dataDir: string): Promise<DemoAccount> {
  const credentialsFile = join(dataDir, DEMO_CREDENTIALS_FILE);
  const marker = join(dataDir, FIRST_RUN_MARKER);
  if (existsSync(marker)) return { address: DEMO_ADDRESS, password: null, credentialsFile, createdNow: false };

  // Imported here so the stack's other parts load even while the store is being changed.
  const { createStore, StoreError } = await import('../core/store/index.ts');
  const { directory } = createStore(clients, config.resources);
  const password = randomBytes(12).toString('base64url');
  try {
    await directory.addDomain(DEMO_DOMAIN);
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'exists')) throw err;
  }
  try {
    await directory.addAccount(DEMO_ADDRESS, password);
  } catch (err) {
    // A first run that died after creating the account: give it the password we will print.
    if (!(err instanceof StoreError && err.code === 'exists')) throw err;
    await directory.setPassword(DEMO_ADDRESS, password);
  }
  writePrivateFile(credentialsFile, `${JSON.stringify({ address: DEMO_ADDRESS, password }, null, 2)}\n`);
  writeFileSync(marker, `${JSON.stringify({ createdAt: new Date().toISOString(), demo: DEMO_ADDRESS })}\n`);
  return { address: DEMO_ADDRESS, password, credentialsFile, createdNow: true };
}

/** The self-signed certificate (core/tls.ts, cached under `<dataDir>/tls`) as the key and cert files services read. */
async function ensureTlsFiles(dataDir: string, hostname: string): Promise<{ keyFile: string; certFile: string }> {
  const folder = join(dataDir, 'tls');
  const credentials = await loadOrCreateSelfSignedCertificate(folder, hostname);
  const keyFile = join(folder, 'key.pem');
  const certFile = join(folder, 'cert.pem');
  const current = (file: string, text: string) => existsSync(file) && readFileSync(file, 'utf8') === text;
  if (!current(keyFile, credentials.key)) writePrivateFile(keyFile, credentials.key);
  if (!current(certFile, credentials.cert)) writePrivateFile(certFile, credentials.cert);
  return { keyFile, certFile };
}

/**
 * The SRS secret (core/srs.ts), made once and kept in `<dataDir>/srs-secret`: a new one would
 * turn away the bounces of everything forwarded before (Secrets Manager holds it in AWS).
 */
function ensureSrsSecret(dataDir: string): string {
  const file = join(dataDir, 'srs-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 16) return kept;
  }
  const secret = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${secret}\n`);
  return secret;
}

function writePrivateFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync's mode applies only when it creates the file
}
