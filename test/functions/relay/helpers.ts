// Shared pieces of the relay tests: a fake remote MX whose replies each test scripts per
// recipient, a resolver mapping test domains onto it, and the relay wired to the emulators.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dkimVerify } from 'mailauth';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { BlobStore } from '../../../core/blobs.ts';
import { QueueSender } from '../../../core/queues.ts';
import { createStore, type Store } from '../../../core/store/index.ts';
import { DkimKeyStore } from '../../../core/store/dkim-keys.ts';
import { OutboundQueueStore } from '../../../core/outbound/queue-store.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { dkimRecordOf } from '../../../core/dkim.ts';
import { DEFAULT_RELAY_POLICY, type RelayPolicy } from '../../../core/outbound/policy.ts';
import type { RelayConfig } from '../../../functions/relay/config.ts';
import type { DnsResolver } from '../../../functions/relay/mx.ts';
import type { RelayDeps } from '../../../functions/relay/deliver-outbound.ts';
import type { RelayMetric } from '../../../functions/relay/telemetry.ts';
import type { SesSender } from '../../../functions/relay/ses-api.ts';
import { createRelayBatchProcessor } from '../../../functions/relay/process-batch.ts';
import { createBatchProcessor } from '../../../functions/inbound/process-batch.ts';
import type { InboundDeps } from '../../../functions/inbound/file-inbound.ts';
import { composeJunkFiling } from '../../../functions/inbound/compose.ts';
import { startSqsEventSource, type BatchOutcome, type SqsEventSource } from '../../../local/runner.ts';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { SesStub } from './ses-stub.ts';
import type { SenderRewriting } from '../../../core/srs.ts';
import { eventually } from '../../helpers/eventually.ts';

/** What the fake MX answers to one RCPT (null = 250) and, for DATA, to the whole message. */
export interface MxScript {
  /** Reply to RCPT TO for this recipient, e.g. '451 4.3.0 Try later'; called once per RCPT. */
  rcpt?(address: string, attempt: number): string | null;
  /** Reply after the final dot; 'hang' never answers. */
  data?(attempt: number): string | null | 'hang';
}

export interface ReceivedMessage {
  readonly mailFrom: string;
  readonly rcptTo: string[];
  readonly raw: Buffer;
}

const replyError = (reply: string) => {
  const m = /^(\d{3})\s+(.*)$/.exec(reply)!;
  return Object.assign(new Error(m[2]), { responseCode: Number(m[1]) });
};

/** An SMTP peer on loopback: scripts are looked up by the first recipient's domain. */
export class FakeMx {
  readonly received: ReceivedMessage[] = [];
  readonly scripts = new Map<string, MxScript>();
  private readonly attempts = new Map<string, number>();
  private readonly dataAttempts = new Map<string, number>();
  /** Sessions that reached DATA and were left hanging. */
  readonly hanging: SMTPServerSession[] = [];
  private server!: SMTPServer;
  port = 0;

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH'],
      logger: false,
      banner: 'fake MX',
      onRcptTo: (address, session, callback) => {
        const rcpt = address.address;
        const script = this.scriptFor(rcpt);
        const n = (this.attempts.get(rcpt) ?? 0) + 1;
        this.attempts.set(rcpt, n);
        const reply = script?.rcpt?.(rcpt, n) ?? null;
        callback(reply ? replyError(reply) : undefined);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const rcptTo = session.envelope.rcptTo.map((r) => r.address);
          const key = rcptTo[0] ?? '';
          const n = (this.dataAttempts.get(key) ?? 0) + 1;
          this.dataAttempts.set(key, n);
          const reply = this.scriptFor(key)?.data?.(n) ?? null;
          if (reply === 'hang') {
            this.hanging.push(session);
            return;
          }
          if (reply) return callback(replyError(reply));
          const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          this.received.push({ mailFrom, rcptTo, raw: Buffer.concat(chunks) });
          callback();
        });
      },
    });
    this.server.on('error', () => {});
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  private scriptFor(address: string): MxScript | undefined {
    return this.scripts.get(address.slice(address.lastIndexOf('@') + 1).toLowerCase());
  }

  /** Messages that reached recipients of `domain`. */
  to(domain: string): ReceivedMessage[] {
    return this.received.filter((m) => m.rcptTo.some((r) => r.toLowerCase().endsWith(`@${domain}`)));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Resolves `<anything>.test` domains' MX to `mx.<domain>` at 127.0.0.1; `nullmx.*` has RFC 7505 null MX. */
export function testResolver(overrides: Record<string, Array<{ exchange: string; priority: number }>> = {}): DnsResolver {
  const noData = (name: string) => Object.assign(new Error(`queryMx ENODATA ${name}`), { code: 'ENODATA' });
  return {
    async resolveMx(domain) {
      if (overrides[domain]) return overrides[domain]!;
      if (domain.startsWith('nullmx.')) return [{ exchange: '', priority: 0 }];
      if (domain.startsWith('nomx.')) throw noData(domain);
      return [{ exchange: `mx.${domain}`, priority: 10 }];
    },
    async resolve4(host) {
      return ['127.0.0.1'];
    },
    async resolve6(host) {
      throw noData(host);
    },
  };
}

export class RelayTelemetry {
  readonly logs: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  readonly counts = new Map<string, number>();
  readonly logger = {
    info: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'info', message, fields }),
    warn: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'warn', message, fields }),
    error: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'error', message, fields }),
  };
  readonly metrics = {
    addMetric: (name: string, _unit: 'Count', value: number) => this.counts.set(name, (this.counts.get(name) ?? 0) + value),
  };
  count(name: RelayMetric | string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** A compressed schedule: a 6-second "5 days", retries after 1 then 2 seconds, a warning at 2.5 s. */
export const FAST_POLICY: RelayPolicy = { ...DEFAULT_RELAY_POLICY, firstRetrySeconds: 1, maxRetrySeconds: 2, maxAgeSeconds: 6, delayWarningSeconds: 2.5 };

export interface RelayRig {
  readonly store: Store;
  readonly blobs: BlobStore;
  /** Blob keys whose last reference went (each also tagged in S3 for the lifecycle rule), in order. */
  readonly orphaned: string[];
  readonly records: OutboundQueueStore;
  readonly dkim: DkimKeyStore;
  readonly telemetry: RelayTelemetry;
  readonly relayDeps: RelayDeps;
  readonly inboundDeps: InboundDeps;
  /** Every relay invocation the runner settled (a `timeout` verdict means the handler overran). */
  readonly relayBatches: BatchOutcome[];
  /** Runs inbound and relay through the real queues with the local event source. */
  startRunners(): void;
  stopRunners(): Promise<void>;
  /** Waits until the outbound and inbound queues hold nothing (visible, in flight or delayed). */
  drained(timeoutMs?: number): Promise<void>;
}

export interface RelayRigOptions {
  policy?: RelayPolicy;
  resolver?: DnsResolver;
  now?: () => Date;
  /** Replaces parts of the relay configuration (smarthost, timeouts, settle margin). */
  config?: Partial<Omit<RelayConfig, 'policy'>>;
  /** The relay function's timeout in the runner (default 60 s); the handler gets the context's remaining time. */
  relayTimeoutSeconds?: number;
  /** Sender rewriting for the inbound function (forwards' SRS senders, SRS reverse paths). */
  srs?: SenderRewriting;
  /** The SESv2 client the relay sends with when the smarthost is `ses-api`, as functions/relay/handler.ts passes it. */
  ses?: SesSender;
}

export function relayRig(world: TestWorld, fakeMx: { readonly port: number }, options: RelayRigOptions = {}): RelayRig {
  const { clients, config } = world;
  const blobs = new BlobStore(clients.s3, config.resources.bucket);
  const orphaned: string[] = [];
  const store = createStore(clients, config.resources, {
    onOrphan: (key) => {
      orphaned.push(key);
      return blobs.markOrphan(key);
    },
  });
  const records = new OutboundQueueStore(clients.doc, config.resources.tables.deliveries);
  const dkim = new DkimKeyStore(clients.doc, config.resources.tables.directory);
  const queues = new QueueSender(clients.sqs);
  const telemetry = new RelayTelemetry();
  const relayConfig: RelayConfig = {
    policy: options.policy ?? FAST_POLICY,
    timeouts: { connectMs: 2000, greetingMs: 2000, commandMs: 2000, dataStartMs: 2000, dataBlockMs: 2000, dataEndMs: 2000 },
    mxPort: fakeMx.port,
    smarthost: null,
    transports: {},
    settleMarginMs: 0,
    ...options.config,
  };
  const outbound = { records, queue: queues, queueUrl: config.resources.queues.outbound, blobRefs: store.blobRefs };
  const relayDeps: RelayDeps = {
    hostname: config.mail.hostname,
    config: relayConfig,
    blobs,
    directory: store.directory,
    records,
    blobRefs: store.blobRefs,
    queue: { sendOutbound: (u, e, d) => queues.sendOutbound(u, e, d), queueUrl: config.resources.queues.outbound },
    inbound: { sendInbound: (u, e) => queues.sendInbound(u, e), queueUrl: config.resources.queues.inbound },
    outbound,
    dkimKeys: dkim,
    resolver: options.resolver ?? testResolver(),
    smarthostCredentials: async () => undefined,
    now: options.now ?? (() => new Date()),
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    ...(options.ses ? { ses: options.ses } : {}),
  };
  const inboundDeps: InboundDeps = {
    directory: store.directory,
    store: store.mailStore,
    blobs,
    indexMessage,
    logger: telemetry.logger,
    metrics: { addMetric: (name, unit, value) => telemetry.metrics.addMetric(name, unit, value) },
    outbound,
    junk: composeJunkFiling(clients.doc, config.resources.tables, config.mail.hostname),
    ...(options.now ? { now: options.now } : {}),
    ...(options.srs ? { srs: options.srs } : {}),
  };
  let sources: SqsEventSource[] = [];
  const relayBatches: BatchOutcome[] = [];
  const relayBatch = createRelayBatchProcessor(relayDeps);
  const inboundBatch = createBatchProcessor(inboundDeps);
  const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
  const common = { sqs: clients.sqs, region: 'us-east-1', maxBatchingWindowSeconds: 0, waitTimeSeconds: 1, concurrency: 1 } as const;
  return {
    store, blobs, orphaned, records, dkim, telemetry, relayDeps, inboundDeps, relayBatches,
    startRunners() {
      sources = [
        startSqsEventSource({
          ...common, queueUrl: config.resources.queues.outbound, queueArn: arn('outbound'), functionName: 'relay',
          handler: (event: SQSEvent, context) => relayBatch(event, context.getRemainingTimeInMillis()), batchSize: 5,
          timeoutSeconds: options.relayTimeoutSeconds ?? 60, onBatch: (o) => relayBatches.push(o),
        }),
        startSqsEventSource({
          ...common, queueUrl: config.resources.queues.inbound, queueArn: arn('inbound'), functionName: 'inbound',
          handler: inboundBatch, batchSize: 10, timeoutSeconds: 60,
        }),
      ];
    },
    async stopRunners() {
      await Promise.all(sources.map((s) => s.stop()));
      sources = [];
    },
    async drained(timeoutMs = 20_000) {
      const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
      const waiting = async () => {
        let total = 0;
        for (const url of [config.resources.queues.outbound, config.resources.queues.inbound]) {
          const out = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...names] }));
          for (const n of names) total += Number(out.Attributes?.[n] ?? 0);
        }
        return total;
      };
      await eventually(async () => (await waiting()) === 0, 'the queues to drain', timeoutMs);
    },
  };
}

export interface RunningRelay {
  readonly world: TestWorld;
  readonly mx: FakeMx;
  readonly rig: RelayRig;
  readonly queues: QueueSender;
  close(): Promise<void>;
}

/** The emulators, a fake MX, and the inbound and relay functions running on their queues. */
export async function startRunningRelay(options: RelayRigOptions = {}): Promise<RunningRelay> {
  const world = await startTestWorld();
  const mx = new FakeMx();
  try {
    await mx.start();
    const rig = relayRig(world, mx, options);
    rig.startRunners();
    return {
      world, mx, rig,
      queues: new QueueSender(world.clients.sqs),
      async close() {
        await rig.stopRunners();
        await mx.stop();
        await world.close();
      },
    };
  } catch (err) {
    await mx.stop().catch(() => undefined);
    await world.close();
    throw err;
  }
}

export type SesRig = RunningRelay & { readonly ses: SesStub };

/** As `startRunningRelay`, with the SES API as the smarthost, SES answered in-process (ses-stub.ts). */
export async function startSesRig(options: RelayRigOptions = {}): Promise<SesRig> {
  const ses = new SesStub();
  const running = await startRunningRelay({ ...options, ses: ses.client, config: { smarthost: { kind: 'ses-api', region: 'us-east-1' }, ...options.config } });
  return { ...running, ses };
}

/** mailauth's DKIM results for `raw` with DNS that knows only `key`'s record (core/dkim.ts). */
export async function dkimResultsWith(raw: Buffer, key: Parameters<typeof dkimRecordOf>[0]) {
  const record = dkimRecordOf(key);
  const { results } = await dkimVerify(raw, {
    resolver: async (name: string, type: string) => {
      if (type === 'TXT' && name === record.name) return [[record.value]];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    },
  });
  return results;
}

/** A fresh local domain with alice on it and a fresh remote domain name, so that tests share no addresses. */
export async function freshDomains(rig: RelayRig): Promise<{ local: string; remote: string; alice: string }> {
  const hex = () => randomBytes(4).toString('hex');
  const local = `l${hex()}.test`;
  const remote = `r${hex()}.test`;
  await rig.store.directory.addDomain(local);
  await rig.store.directory.addAccount(`alice@${local}`, 'pw-alice-123');
  return { local, remote, alice: `alice@${local}` };
}

export { eventually } from '../../helpers/eventually.ts';

/** A plain message from `from` (CRLF), with `extraHeaders` on top. */
export function outgoingMessage(from: string, to: string, subject = 'Hello there', extraHeaders: string[] = []): Buffer {
  return Buffer.from([
    ...extraHeaders,
    `From: Sender <${from}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    'Date: Fri, 20 Nov 2026 10:15:00 +0000',
    `Message-ID: <${Math.random().toString(36).slice(2)}@test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Body line one.',
    'Body line two, with trailing spaces   ',
    '',
  ].join('\r\n'));
}
