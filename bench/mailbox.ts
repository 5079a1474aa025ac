// Mailbox benchmark: IMAP FETCH 1:N BODY[] (cold and warm), N single UID FETCH BODY[] (body
// cached and not), POP3 RETR of N messages (one at a time and pipelined), SELECT of a 10,000-message mailbox, memory per idle IMAP connection (IDLE) and the AWS
// requests/s those idlers cost, FETCH of a large message (MB/s, server memory while streaming), on the
// embedded emulators with the servers in-process. Reference: raw S3 GetObject of the same blobs
// (the ceiling for serving bodies). AWS requests are counted on the servers' own clients. With a
// latency model (MAIL_AWS_LATENCY), the servers' and the reference's S3 and DynamoDB requests wait
// as AWS's would, so serial round trips show.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../core/aws.ts';
import { BlobStore } from '../core/blobs.ts';
import { BodyCache } from '../core/body-cache.ts';
import { BlobReadBudget, DEFAULT_BLOB_READ_LIMITS, type BlobReadLimits } from '../core/blob-read-budget.ts';
import { LoginFailureCounter } from '../core/login-failures.ts';
import { indexMessage } from '../core/mime/index.ts';
import { DynamoMaildropLocks } from '../core/store/maildrop-lock.ts';
import { createStore, type Account } from '../core/store/index.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { createSelfSignedCertificate } from '../core/tls.ts';
import { startImapServer } from '../mailbox-server/imap/server.ts';
import { ConnectionsPerAddress } from '../core/connections-per-address.ts';
import { startPop3Server } from '../mailbox-server/pop3/server.ts';
import { seedMailbox } from '../test/mailbox-server/imap/helpers/seed.ts';
import { percentile, syntheticMessage } from './smtp-load.ts';
import { startBenchEmulators } from './our-stack.ts';

export interface MailboxBenchOptions {
  /** Messages fetched / retrieved (default 1000). */
  readonly messages: number;
  readonly sizeBytes: number;
  /** Size of the mailbox SELECT is timed on (default 10,000). */
  readonly selectMailbox: number;
  readonly selects: number;
  readonly idleSessions: number;
  /** Size of the large message fetched whole, also by several clients at once (default 20 MiB). */
  readonly largeBytes?: number;
  /** Connections fetching it at once (default 4). */
  readonly largeClients?: number;
  /** AWS's latencies on the servers' (and the reference's) requests; null for the emulators' own. */
  readonly latency: LatencyModel | null;
  /** The servers' S3 read budget (default: the production one); a larger one shows what the session's bounds. */
  readonly blobReads?: BlobReadLimits;
}

const USER = 'bench@example.test';
const PASSWORD = 'bench-password-1';

/** A request/response client for IMAP and POP3: counts bytes, watches the tail for the end of an answer. */
export class WireClient {
  private tail = '';
  private bytes = 0;
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.bytes += d.length;
      this.tail = (this.tail + d.toString('latin1')).slice(-1024);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<WireClient> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new WireClient(socket);
  }

  /** Sends `line` (if any) and waits until the answer's tail matches `end`; returns the bytes read. */
  async exchange(line: string | null, end: RegExp, timeoutMs = 60_000): Promise<{ bytes: number; tail: string }> {
    if (line !== null) this.socket.write(`${line}\r\n`);
    const deadline = Date.now() + timeoutMs;
    while (!end.test(this.tail)) {
      if (this.closed || Date.now() > deadline) throw new Error(`no answer to ${line ?? 'greeting'}: ${this.tail.slice(-200)}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 1000).unref();
      });
      this.wake = null;
    }
    const result = { bytes: this.bytes, tail: this.tail };
    this.bytes = 0;
    this.tail = '';
    return result;
  }

  /**
   * Sends `lines` in one write (pipelined) and waits until `end` has been seen `count` times in
   * the answer (across chunk boundaries); returns the bytes read.
   */
  async pipeline(lines: readonly string[], end: string, count: number, timeoutMs = 120_000): Promise<{ bytes: number }> {
    let seen = 0;
    let carry = '';
    let bytes = 0;
    const onData = (d: Buffer) => {
      bytes += d.length;
      const text = carry + d.toString('latin1');
      for (let at = text.indexOf(end); at !== -1; at = text.indexOf(end, at + end.length)) seen += 1;
      carry = text.slice(-(end.length - 1));
    };
    this.socket.on('data', onData);
    try {
      this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
      const deadline = Date.now() + timeoutMs;
      while (seen < count) {
        if (this.closed || Date.now() > deadline) throw new Error(`pipelined answers: ${seen} of ${count}`);
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1000).unref();
        });
        this.wake = null;
      }
    } finally {
      this.socket.off('data', onData);
      this.bytes = 0;
      this.tail = '';
    }
    return { bytes };
  }

  close(): void {
    this.socket.destroy();
  }
}

export const tagged = (tag: string) => new RegExp(`(^|\\r\\n)${tag} OK[^\\r\\n]*\\r\\n$`);
const stats = (ms: number[], seconds: number, count: number) => ({
  messagesPerSecond: Math.round(count / seconds),
  p50ms: +percentile(ms, 50).toFixed(2),
  p95ms: +percentile(ms, 95).toFixed(2),
  p99ms: +percentile(ms, 99).toFixed(2),
});
const perOperation = (counts: Record<string, number>, operations: number) =>
  Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, +(v / operations).toFixed(3)]));

async function timed<T>(counter: RequestCounter, run: () => Promise<T>) {
  counter.counts.clear();
  const started = performance.now();
  const result = await run();
  return { result, seconds: (performance.now() - started) / 1000, requests: counter.snapshot() };
}

/**
 * The clients of the idle phase run in a child process, so the server's process holds only the
 * server side of the connections. Plain JavaScript: it is passed to `node -e`.
 */
const IDLE_CLIENTS = `
const net = require('node:net');
const [port, count, user, pass, mailbox] = process.argv.slice(1);
const sockets = [];
function session() {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: Number(port), host: '127.0.0.1' });
    sockets.push(s);
    let buf = '';
    let step = 0;
    const steps = [
      [/\\r\\n$/, 'a LOGIN ' + user + ' ' + pass],
      [/a OK[^\\r\\n]*\\r\\n$/, 'b SELECT ' + mailbox],
      [/b OK[^\\r\\n]*\\r\\n$/, 'c IDLE'],
      [/\\+ [^\\r\\n]*\\r\\n$/, null],
    ];
    s.on('data', (d) => {
      buf = (buf + d.toString('latin1')).slice(-512);
      const [end, next] = steps[step];
      if (!end.test(buf)) return;
      buf = '';
      step++;
      if (next) s.write(next + '\\r\\n'); else resolve();
    });
    s.on('error', reject);
  });
}
(async () => {
  let next = 0;
  const worker = async () => { while (next < Number(count)) { next++; await session(); } };
  await Promise.all(Array.from({ length: 25 }, worker));
  process.stdout.write('ready\\n');
  process.stdin.resume();
  process.stdin.on('end', () => { for (const s of sockets) s.destroy(); process.exit(0); });
})().catch((err) => { process.stderr.write(String(err) + '\\n'); process.exit(1); });
`;

export async function runMailboxBenchmark(given: MailboxBenchOptions) {
  const options = { largeBytes: 20 * 1024 * 1024, largeClients: 4, blobReads: DEFAULT_BLOB_READ_LIMITS, ...given };
  const emulators = await startBenchEmulators({ ownProcess: false });
  const { aws, setup, resources } = emulators;
  const counter = new RequestCounter();
  const serverClients = createAwsClients({ ...aws, latency: options.latency }, counter);
  const referenceCounter = new RequestCounter();
  const referenceClients = createAwsClients({ ...aws, latency: options.latency }, referenceCounter);
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    const setupStore = createStore(setup, resources);
    await setupStore.directory.addDomain('example.test');
    await setupStore.directory.addAccount(USER, PASSWORD);
    await setupStore.mailStore.createMailbox(USER, 'Big');
    await setupStore.mailStore.createMailbox(USER, 'Idle');
    await setupStore.mailStore.createMailbox(USER, 'Large');
    const setupBlobs = new BlobStore(setup.s3, resources.bucket);

    // N distinct 10 KB blobs in INBOX; one shared blob behind the 10,000-message mailbox.
    const keys = Array.from({ length: options.messages }, (_, i) => `raw/bench/${i}.eml`);
    const bodies = keys.map((_, i) => syntheticMessage(options.sizeBytes, i, 'sender@remote.test', USER));
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k, j) => setupBlobs.put(k, bodies[i + j]!)));
    const inbox = (await setupStore.mailStore.getMailbox(USER, 'INBOX'))!;
    const day = new Date().toISOString();
    await seedMailbox(setup.doc, resources.tables, inbox, keys.length, (i) => ({ blobKey: keys[i]!, size: bodies[i]!.length, index: indexMessage(bodies[i]!), flags: ['\\Seen'], internalDate: day }));
    const largeBody = syntheticMessage(options.largeBytes, 0, 'sender@remote.test', USER);
    await setupBlobs.put('raw/bench/large.eml', largeBody);
    const largeBox = (await setupStore.mailStore.getMailbox(USER, 'Large'))!;
    await seedMailbox(setup.doc, resources.tables, largeBox, 1, () => ({ blobKey: 'raw/bench/large.eml', size: largeBody.length, index: indexMessage(largeBody), flags: ['\\Seen'], internalDate: day }));
    const big = (await setupStore.mailStore.getMailbox(USER, 'Big'))!;
    const bigIndex = indexMessage(bodies[0]!);
    await seedMailbox(setup.doc, resources.tables, big, options.selectMailbox, (i) => ({ blobKey: keys[0]!, size: bodies[0]!.length, index: bigIndex, flags: i % 3 ? ['\\Seen'] : [], internalDate: day }), 8);

    const store = createStore(serverClients, resources);
    const blobs = new BlobStore(serverClients.s3, resources.bucket);
    const now = new Date();
    const tls = createSelfSignedCertificate('localhost', ['localhost', '127.0.0.1'], new Date(now.getTime() - 3600_000), new Date(now.getTime() + 86400_000));
    const throttle = new LoginFailureCounter();
    // Each server stands for a task of its own, with its own body cache (the default size, as
    // mailbox-server/main.ts makes it): what one has read, another has not.
    const startImap = async () => {
      const server = await startImapServer({ store: store.mailStore, directory: store.directory, blobs, blobReads: new BlobReadBudget(blobs, options.blobReads), bodyCache: new BodyCache(), tls, hostname: 'bench', listeners: [{ name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false }], throttle });
      cleanups.push(() => server.close());
      return server;
    };
    const startPop3 = async () => {
      const server = await startPop3Server({ directory: store.directory, store: store.mailStore, blobs, blobReads: new BlobReadBudget(blobs, options.blobReads), bodyCache: new BodyCache(), locks: new DynamoMaildropLocks(serverClients.doc, resources.tables), throttle, tls, ports: { plain: 0, tls: null } });
      cleanups.push(() => server.close());
      return server;
    };
    const imap = await startImap();

    // First, while the process's RSS has not yet been grown and freed by the phases below.
    const idle = await measureIdleSessions(options.idleSessions, { store, blobs, tls });
    const idleRequests = await measureIdleRequests(options.idleSessions, counter, { store, blobs, tls });

    // Reference: GetObject of each blob, one after another (what serving a body cannot beat).
    const referenceBlobs = new BlobStore(referenceClients.s3, resources.bucket);
    const reference = await timed(referenceCounter, async () => {
      const ms: number[] = [];
      for (const key of keys) {
        const t = performance.now();
        await referenceBlobs.getBuffer(key);
        ms.push(performance.now() - t);
      }
      return ms;
    });

    const imapSession = async (port: number) => {
      const c = await WireClient.connect(port);
      cleanups.push(() => c.close());
      await c.exchange(null, /\r\n$/);
      await c.exchange(`l LOGIN ${USER} ${PASSWORD}`, tagged('l'));
      await c.exchange('s SELECT INBOX', tagged('s'));
      return c;
    };
    const singleFetches = (c: WireClient, prefix: string) =>
      timed(counter, async () => {
        const ms: number[] = [];
        for (let uid = 1; uid <= keys.length; uid++) {
          const t = performance.now();
          await c.exchange(`${prefix}${uid} UID FETCH ${uid} BODY[]`, tagged(`${prefix}${uid}`));
          ms.push(performance.now() - t);
        }
        return ms;
      });
    // Single UID FETCH of bodies this task has not read, on a server of its own.
    const uncached = await singleFetches(await imapSession((await startImap()).ports.imap!), 'n');
    const client = await imapSession(imap.ports.imap!);
    // Cold: the first read of every body by this task; warm: the same command again.
    const fetchRange = await timed(counter, () => client.exchange(`f1 FETCH 1:${keys.length} BODY[]`, tagged('f1'), 120_000));
    const fetchRangeWarm = await timed(counter, () => client.exchange(`f2 FETCH 1:${keys.length} BODY[]`, tagged('f2'), 120_000));
    const single = await singleFetches(client, 'u');

    const selects = await timed(counter, async () => {
      const ms: number[] = [];
      let answer = '';
      for (let i = 0; i < options.selects; i++) {
        const t = performance.now();
        answer = (await client.exchange(`b${i} EXAMINE Big`, tagged(`b${i}`), 60_000)).tail;
        ms.push(performance.now() - t);
      }
      if (!answer.includes(`EXISTS`)) throw new Error('EXAMINE Big gave no EXISTS');
      return ms;
    });
    await client.exchange('o LOGOUT', tagged('o'));

    const large = await measureLargeFetch(imap.ports.imap!, counter, options.largeClients, largeBody.length);

    // POP3: RETR of every message of INBOX on one connection (login lists the maildrop), each on a
    // server of its own that has read none of them: one command at a time, then all pipelined.
    const popSession = async () => {
      const pop = await WireClient.connect((await startPop3()).ports.plain!);
      cleanups.push(() => pop.close());
      await pop.exchange(null, /\r\n$/);
      await pop.exchange(`USER ${USER}`, /\r\n$/);
      const login = await timed(counter, () => pop.exchange(`PASS ${PASSWORD}`, /\r\n$/));
      if (!login.result.tail.startsWith('+OK')) throw new Error(`POP3 login: ${login.result.tail}`);
      return { pop, login };
    };
    const { pop, login: popLogin } = await popSession();
    const retr = await timed(counter, async () => {
      const ms: number[] = [];
      for (let n = 1; n <= keys.length; n++) {
        const t = performance.now();
        await pop.exchange(`RETR ${n}`, /\r\n\.\r\n$/);
        ms.push(performance.now() - t);
      }
      return ms;
    });
    await pop.exchange('QUIT', /\r\n$/);
    const { pop: piped } = await popSession();
    const retrPipelined = await timed(counter, () => piped.pipeline(keys.map((_, i) => `RETR ${i + 1}`), '\r\n.\r\n', keys.length));
    await piped.exchange('QUIT', /\r\n$/);


    const bodyBytes = bodies.reduce((n, b) => n + b.length, 0);
    return {
      options,
      reference: { ...stats(reference.result, reference.seconds, keys.length), requestsPerMessage: perOperation(reference.requests, keys.length) },
      latencyModel: options.latency,
      fetchRange: {
        messagesPerSecond: Math.round(keys.length / fetchRange.seconds),
        seconds: +fetchRange.seconds.toFixed(3),
        wireBytesPerBodyByte: +(fetchRange.result.bytes / bodyBytes).toFixed(3),
        requestsPerMessage: perOperation(fetchRange.requests, keys.length),
      },
      fetchRangeWarm: {
        messagesPerSecond: Math.round(keys.length / fetchRangeWarm.seconds),
        seconds: +fetchRangeWarm.seconds.toFixed(3),
        requestsPerMessage: perOperation(fetchRangeWarm.requests, keys.length),
      },
      uidFetch: { ...stats(single.result, single.seconds, keys.length), requestsPerMessage: perOperation(single.requests, keys.length) },
      uidFetchUncached: { ...stats(uncached.result, uncached.seconds, keys.length), requestsPerMessage: perOperation(uncached.requests, keys.length) },
      pop3RetrPipelined: {
        messagesPerSecond: Math.round(keys.length / retrPipelined.seconds),
        seconds: +retrPipelined.seconds.toFixed(3),
        wireBytesPerBodyByte: +(retrPipelined.result.bytes / bodyBytes).toFixed(3),
        requestsPerMessage: perOperation(retrPipelined.requests, keys.length),
      },
      pop3Retr: { ...stats(retr.result, retr.seconds, keys.length), requestsPerMessage: perOperation(retr.requests, keys.length), login: { ms: +(popLogin.seconds * 1000).toFixed(1), requests: popLogin.requests } },
      select: {
        mailboxMessages: options.selectMailbox,
        p50ms: +percentile(selects.result, 50).toFixed(1),
        maxMs: +Math.max(...selects.result).toFixed(1),
        requestsPerSelect: perOperation(selects.requests, options.selects),
      },
      idle: { ...idle, ...idleRequests },
      large,
    };
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    for (const c of [serverClients, referenceClients]) destroyAwsClients(c);
    await emulators.stop();
  }
}

type IdleServices = { store: ReturnType<typeof createStore>; blobs: BlobStore; tls: ReturnType<typeof createSelfSignedCertificate> };

/**
 * An IMAP server of the idle phases: logins reuse one verified password (scrypt x N would dominate
 * the setup); `idlePollMs` unset is the production default.
 */
function startIdleServer(services: IdleServices, idlePollMs?: number) {
  const verified = new Map<string, Account>();
  const directory = {
    async verifyPassword(user: string, password: string) {
      const key = `${user}\0${password}`;
      const known = verified.get(key) ?? (await services.store.directory.verifyPassword(user, password));
      if (known) verified.set(key, known);
      return known;
    },
    quotaUsage: (account: string) => services.store.directory.quotaUsage(account),
  };
  return startImapServer({
    store: services.store.mailStore,
    directory,
    blobs: services.blobs,
    tls: services.tls,
    hostname: 'bench',
    listeners: [{ name: 'imap', port: 0, host: '127.0.0.1', implicitTls: false }],
    // every idle client comes from 127.0.0.1, and they log in 25 at a time: lift the per-address cap
    preLoginConnections: new ConnectionsPerAddress(1_000_000),
    ...(idlePollMs === undefined ? {} : { limits: { idlePollMs } }),
  });
}

/** Runs `measure` while N sessions (IDLE_CLIENTS, a child process) idle on the Idle mailbox. */
async function whileIdling<T>(port: number, sessions: number, measure: () => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['-e', IDLE_CLIENTS, String(port), String(sessions), USER, PASSWORD, 'Idle'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`idle clients exited with ${code}`)));
      setTimeout(() => reject(new Error('idle sessions not ready within 120 s')), 120_000).unref();
    });
    return await measure();
  } finally {
    child.stdin.end();
    child.kill();
  }
}

/**
 * Memory of N sessions in IDLE on a small mailbox, measured in this (the server's) process after a
 * full GC. The server here polls every 30 s instead of 1 s, so 2,000 sessions do not flood the
 * emulator during the measurement.
 */
async function measureIdleSessions(sessions: number, services: IdleServices) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 200));
    }
    return process.memoryUsage();
  };
  const server = await startIdleServer(services, 30_000);
  try {
    const before = await settle();
    const started = performance.now();
    return await whileIdling(server.ports.imap!, sessions, async () => {
      const setupSeconds = (performance.now() - started) / 1000;
      const during = await settle();
      if (server.sessionCount < sessions) throw new Error(`only ${server.sessionCount} sessions`);
      return {
        sessions,
        setupSeconds: +setupSeconds.toFixed(1),
        rssBytesPerSession: Math.round((during.rss - before.rss) / sessions),
        heapBytesPerSession: Math.round((during.heapUsed - before.heapUsed) / sessions),
        externalBytesPerSession: Math.round((during.external - before.external) / sessions),
      };
    });
  } finally {
    await server.close();
  }
}

/**
 * What N sessions idling on one mailbox cost in AWS requests at the default 1 s interval: a server
 * of its own (the production default poll), the requests counted over a few seconds of quiet.
 */
async function measureIdleRequests(sessions: number, counter: RequestCounter, services: IdleServices) {
  const server = await startIdleServer(services);
  try {
    return await whileIdling(server.ports.imap!, sessions, async () => {
      const window = 5;
      counter.counts.clear();
      await new Promise((r) => setTimeout(r, window * 1000));
      const requests = counter.snapshot();
      return {
        idlePollMs: 1000,
        /** Measured: all AWS requests per second while the sessions idle and nothing changes. */
        requestsPerSecondWhileIdle: +(counter.total() / window).toFixed(1),
        idleRequestsPerSecond: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, +(v / window).toFixed(1)])),
      };
    });
  } finally {
    await server.close();
  }
}

/**
 * FETCH of one large message: throughput of UID FETCH BODY[] on one connection, then `clients`
 * connections fetching it at once while the server's memory is sampled (the clients here count
 * bytes and keep only a short tail, so the process's memory is the server's).
 */
async function measureLargeFetch(port: number, counter: RequestCounter, clients: number, size: number) {
  const open = async () => {
    const c = await WireClient.connect(port);
    await c.exchange(null, /\r\n$/);
    await c.exchange(`l LOGIN ${USER} ${PASSWORD}`, tagged('l'));
    await c.exchange('s EXAMINE Large', tagged('s'));
    return c;
  };
  const conns = await Promise.all(Array.from({ length: clients }, open));
  try {
    const rounds = 3;
    const single = await timed(counter, async () => {
      for (let i = 0; i < rounds; i++) await conns[0]!.exchange(`g${i} UID FETCH 1 BODY.PEEK[]`, tagged(`g${i}`), 120_000);
    });
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const base = process.memoryUsage();
    let peak = { heapUsed: 0, arrayBuffers: 0, rss: 0 };
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = { heapUsed: Math.max(peak.heapUsed, m.heapUsed), arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers), rss: Math.max(peak.rss, m.rss) };
    }, 10);
    const parallel = await timed(counter, () => Promise.all(conns.map((c, i) => c.exchange(`p${i} UID FETCH 1 BODY.PEEK[]`, tagged(`p${i}`), 120_000))));
    clearInterval(sampler);
    const mb = (n: number) => +(n / 1024 / 1024).toFixed(1);
    return {
      messageBytes: size,
      singleMBps: +((rounds * size) / 1024 / 1024 / single.seconds).toFixed(1),
      requestsPerFetch: perOperation(single.requests, rounds),
      parallelClients: clients,
      parallelMBps: +((clients * size) / 1024 / 1024 / parallel.seconds).toFixed(1),
      /** Peak growth over the start of the parallel phase, in MiB: buffering would show ~clients x size. */
      peakGrowthMiB: { heapUsed: mb(peak.heapUsed - base.heapUsed), arrayBuffers: mb(peak.arrayBuffers - base.arrayBuffers), rss: mb(peak.rss - base.rss) },
    };
  } finally {
    for (const c of conns) c.close();
  }
}

export function printMailbox(result: Awaited<ReturnType<typeof runMailboxBenchmark>>): void {
  const o = result.options;
  const model = o.latency ? `AWS latency model on (${Object.entries(o.latency.medianMs).map(([s, ms]) => `${s} ${ms} ms`).join(', ')})` : 'no latency model';
  console.log(`\nMailbox: ${o.messages} messages of ${o.sizeBytes} B; SELECT on ${o.selectMailbox}; ${o.idleSessions} idle sessions; ${model}; S3 reads per session ${o.blobReads.perSession}, per process ${o.blobReads.perProcess}`);
  console.table({
    'S3 GetObject (reference)': { 'msg/s': result.reference.messagesPerSecond, p50: result.reference.p50ms, p95: result.reference.p95ms, p99: result.reference.p99ms },
    [`IMAP FETCH 1:${o.messages} BODY[] cold`]: { 'msg/s': result.fetchRange.messagesPerSecond, p50: '', p95: '', p99: '' },
    [`IMAP FETCH 1:${o.messages} BODY[] warm`]: { 'msg/s': result.fetchRangeWarm.messagesPerSecond, p50: '', p95: '', p99: '' },
    'IMAP UID FETCH n BODY[] uncached': { 'msg/s': result.uidFetchUncached.messagesPerSecond, p50: result.uidFetchUncached.p50ms, p95: result.uidFetchUncached.p95ms, p99: result.uidFetchUncached.p99ms },
    'IMAP UID FETCH n BODY[] cached': { 'msg/s': result.uidFetch.messagesPerSecond, p50: result.uidFetch.p50ms, p95: result.uidFetch.p95ms, p99: result.uidFetch.p99ms },
    'POP3 RETR n, one at a time': { 'msg/s': result.pop3Retr.messagesPerSecond, p50: result.pop3Retr.p50ms, p95: result.pop3Retr.p95ms, p99: result.pop3Retr.p99ms },
    [`POP3 RETR 1..${o.messages} pipelined`]: { 'msg/s': result.pop3RetrPipelined.messagesPerSecond, p50: '', p95: '', p99: '' },
  });
  const ratio = (x: number) => (x / result.reference.messagesPerSecond).toFixed(2);
  console.log(`ratio to the S3 reference: FETCH 1:N ${ratio(result.fetchRange.messagesPerSecond)}, UID FETCH ${ratio(result.uidFetch.messagesPerSecond)}, RETR ${ratio(result.pop3Retr.messagesPerSecond)}`);
  console.log('AWS requests per message: FETCH 1:N cold', result.fetchRange.requestsPerMessage, 'warm', result.fetchRangeWarm.requestsPerMessage, '| UID FETCH uncached', result.uidFetchUncached.requestsPerMessage, 'cached', result.uidFetch.requestsPerMessage, '| RETR', result.pop3Retr.requestsPerMessage, 'pipelined', result.pop3RetrPipelined.requestsPerMessage);
  console.log(`POP3 login (lists ${o.messages}): ${result.pop3Retr.login.ms} ms`, result.pop3Retr.login.requests);
  console.log(`SELECT ${result.select.mailboxMessages}: p50 ${result.select.p50ms} ms, max ${result.select.maxMs} ms; requests per SELECT`, result.select.requestsPerSelect);
  const i = result.idle;
  console.log(`idle IMAP sessions: ${i.sessions} in ${i.setupSeconds} s; per session RSS ${(i.rssBytesPerSession / 1024).toFixed(1)} KiB, heap ${(i.heapBytesPerSession / 1024).toFixed(1)} KiB, external ${(i.externalBytesPerSession / 1024).toFixed(1)} KiB`);
  console.log(`idle IMAP sessions at the default ${i.idlePollMs} ms poll, all on one mailbox: ${i.requestsPerSecondWhileIdle} AWS requests/s`, i.idleRequestsPerSecond);
  const l = result.large;
  console.log(`large FETCH (${(l.messageBytes / 1024 / 1024).toFixed(1)} MiB BODY[]): ${l.singleMBps} MB/s on one connection, requests per FETCH`, l.requestsPerFetch, `; ${l.parallelClients} at once: ${l.parallelMBps} MB/s, server peak growth (MiB)`, l.peakGrowthMiB);
}
