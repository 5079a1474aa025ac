// IMAP and POP3 against Dovecot, side by side in one run: the same messages in both (ours seeded
// into the emulators, Dovecot's written into its maildirs), the same client code driving both,
// our servers measured with the AWS latency model off and on (the anchor never slowed). Also
// 250→visible to an IDLE client: our SMTP edge → S3/SQS → inbound → DynamoDB → IMAP against
// Postfix → LMTP → Dovecot. And the emulators' own speed, which bounds ours with the model off.
// Each figure is { ours, anchor, ratio, unit, latencyModel } (bench/README.md).
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dollarsPerMessage, PRICES_AS_OF, type RequestCost } from './aws-prices.ts';
import { CapacityCounter, countCapacity } from './capacity.ts';
import { createAwsClients, destroyAwsClients, RequestCounter, type AwsClients } from '../core/aws.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { BlobReadBudget, DEFAULT_BLOB_READ_LIMITS } from '../core/blob-read-budget.ts';
import { BlobStore } from '../core/blobs.ts';
import type { ResourceNames } from '../core/config.ts';
import { indexMessage } from '../core/mime/index.ts';
import { createStore } from '../core/store/index.ts';
import { seedMailbox } from '../test/mailbox-server/imap/helpers/seed.ts';
import { startDovecotAnchor } from './anchors/dovecot.ts';
import { startPostfix } from './anchors/postfix.ts';
import { figure, modelName, printFigures, type Figure } from './figures.ts';
import { WireClient } from './mailbox.ts';
import { startBenchEdge, startBenchEmulators, startInboundFunction, startMailboxTask, type BenchEmulators } from './our-stack.ts';
import { percentile, sendOverOneConnection, syntheticMessage } from './smtp-load.ts';

export interface AgainstDovecotOptions {
  /** Messages in INBOX, all fetched / retrieved (default 1000). */
  readonly messages: number;
  readonly sizeBytes: number;
  /** Messages in the mailbox SELECT is timed on (default 2000; the target is stated for 10,000). */
  readonly selectMailbox: number;
  /** Samples of each single-command latency (UID FETCH, LOGIN, APPEND, STORE, SELECT). */
  readonly samples: number;
  readonly loadClients: number;
  readonly loadSeconds: number;
  /** Messages delivered one by one to an IDLE client. */
  readonly deliveries: number;
  /** The model for the "on" half; the "off" half runs on the emulators' own speed. */
  readonly latency: LatencyModel;
}

const USER = 'bench@example.test';
const PASSWORD = 'bench-password-1';
const FROM = 'sender@remote.test';

/** Where the clients connect: a fresh server (nothing read, nothing cached) on each call. */
interface Side {
  readonly name: string;
  /** IMAP and POP3 ports of a server that has read nothing yet (for Dovecot: the same one). */
  fresh(options?: { credentialCache?: boolean }): Promise<{ imap: number; pop3: number }>;
  /** AWS requests our servers have made so far (0 for Dovecot). */
  requests(): number;
  /** Requests by operation and DynamoDB capacity units so far, for the cost line (ours only). */
  cost?(): RequestCost;
}

/** Dollars per million messages of what `run` read, from the requests and units it made. */
async function costed<T>(side: Side, into: Record<string, number>, name: string, messages: number, run: () => Promise<T>): Promise<T> {
  if (!side.cost) return run();
  const before = side.cost();
  const result = await run();
  const after = side.cost();
  const requests: Record<string, number> = {};
  for (const [op, n] of Object.entries(after.requests)) {
    const delta = (n - (before.requests[op] ?? 0)) / messages;
    if (delta > 0) requests[op] = delta;
  }
  const dynamo = { wru: (after.dynamo.wru - before.dynamo.wru) / messages, rru: (after.dynamo.rru - before.dynamo.rru) / messages };
  into[name] = +(dollarsPerMessage({ requests, dynamo }).total * 1_000_000).toFixed(3);
  return result;
}

/** AWS requests per operation of the figures, for what bounds them (requests × the model's medians). */
type RequestsPerOperation = Record<string, number>;

async function counted<T>(side: Side, into: RequestsPerOperation, name: string, operations: number, run: () => Promise<T>): Promise<T> {
  const before = side.requests();
  const result = await run();
  into[name] = +((side.requests() - before) / operations).toFixed(2);
  return result;
}

// ---- the wire ----------------------------------------------------------------------------

const done = (tag: string) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n$`);

async function command(c: WireClient, tag: string, line: string, timeoutMs = 300_000): Promise<string> {
  const { tail } = await c.exchange(`${tag} ${line}`, done(tag), timeoutMs);
  if (!new RegExp(`(^|\\r\\n)${tag} OK`).test(tail)) throw new Error(`${line}: ${tail.slice(-300)}`);
  return tail;
}

async function imapSession(port: number, mailbox: string | null = 'INBOX'): Promise<WireClient> {
  const c = await WireClient.connect(port);
  await c.exchange(null, /\r\n$/);
  await command(c, 'l', `LOGIN ${USER} ${PASSWORD}`);
  if (mailbox) await command(c, 's', `SELECT ${mailbox}`);
  return c;
}

async function timedEach(count: number, run: (i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await run(i);
    ms.push(performance.now() - t);
  }
  return ms;
}

const p50 = (ms: number[]) => percentile(ms, 50);
const rate = (count: number, started: number) => count / ((performance.now() - started) / 1000);

// ---- the work, the same for both sides -----------------------------------------------------

/** POP3 RETR 1..N, one command at a time, on one connection; msg/s. */
async function pop3RetrAll(port: number, messages: number): Promise<number> {
  const c = await WireClient.connect(port);
  try {
    await c.exchange(null, /\r\n$/);
    await c.exchange(`USER ${USER}`, /\r\n$/);
    const pass = await c.exchange(`PASS ${PASSWORD}`, /\r\n$/);
    if (!pass.tail.startsWith('+OK')) throw new Error(`POP3 PASS: ${pass.tail}`);
    const started = performance.now();
    for (let n = 1; n <= messages; n++) await c.exchange(`RETR ${n}`, /\r\n\.\r\n$/);
    const result = rate(messages, started);
    await c.exchange('QUIT', /\r\n$/);
    return result;
  } finally {
    c.close();
  }
}

interface Retrieval {
  /** Dollars per million messages read, by how they were read (AWS requests and units, bench/aws-prices.ts). */
  dollarsPerMillion: Record<string, number>;
  pop3Cold: number;
  pop3Warm: number;
  fetchCold: number;
  fetchWarm: number;
  uidFetchCachedMs: number;
  uidFetchUncachedMs: number;
}

async function retrieval(side: Side, o: AgainstDovecotOptions, requests: RequestsPerOperation): Promise<Retrieval> {
  const uids = Array.from({ length: Math.min(o.samples, o.messages) }, (_, i) => 1 + Math.floor((i * o.messages) / Math.min(o.samples, o.messages)));
  const dollarsPerMillion: Record<string, number> = {};
  const popServer = await side.fresh();
  const pop3Cold = await costed(side, dollarsPerMillion, 'POP3 RETR, first read (login, list, RETR each)', o.messages, () =>
    counted(side, requests, 'POP3 RETR, first read (whole session)', o.messages, () => pop3RetrAll(popServer.pop3, o.messages)));
  const pop3Warm = await counted(side, requests, 'POP3 RETR, warm (whole session)', o.messages, () => pop3RetrAll(popServer.pop3, o.messages));

  const uncachedServer = await side.fresh();
  const u = await imapSession(uncachedServer.imap);
  const uidFetchUncachedMs = p50(await counted(side, requests, 'UID FETCH, uncached', uids.length, () => timedEach(uids.length, (i) => command(u, `u${i}`, `UID FETCH ${uids[i]} BODY.PEEK[]`))));
  u.close();

  const c = await imapSession((await side.fresh()).imap);
  let started = performance.now();
  await costed(side, dollarsPerMillion, 'IMAP FETCH 1:N BODY[], first read', o.messages, () =>
    counted(side, requests, 'FETCH 1:N cold, per message', o.messages, () => command(c, 'f1', `FETCH 1:${o.messages} BODY.PEEK[]`)));
  const fetchCold = rate(o.messages, started);
  started = performance.now();
  await counted(side, requests, 'FETCH 1:N warm, per message', o.messages, () => command(c, 'f2', `FETCH 1:${o.messages} BODY.PEEK[]`));
  const fetchWarm = rate(o.messages, started);
  const uidFetchCachedMs = p50(await counted(side, requests, 'UID FETCH, cached', uids.length, () => timedEach(uids.length, (i) => command(c, `c${i}`, `UID FETCH ${uids[i]} BODY.PEEK[]`))));
  await command(c, 'o', 'LOGOUT');
  c.close();
  return { dollarsPerMillion, pop3Cold, pop3Warm, fetchCold, fetchWarm, uidFetchCachedMs, uidFetchUncachedMs };
}

interface Commands {
  /** SELECT of a mailbox no session of the task has open: every message state is read. */
  selectMs: number;
  /** SELECT of the mailbox already selected: the task's shared states answer, after one consistency check. */
  reselectMs: number;
  loginFirstMs: number;
  loginRepeatedMs: number;
  appendMs: number;
  storeMs: number;
}

async function loginOnce(port: number): Promise<number> {
  const c = await WireClient.connect(port);
  try {
    await c.exchange(null, /\r\n$/);
    const t = performance.now();
    await command(c, 'l', `LOGIN ${USER} ${PASSWORD}`);
    const ms = performance.now() - t;
    await command(c, 'o', 'LOGOUT');
    return ms;
  } finally {
    c.close();
  }
}

async function commands(side: Side, o: AgainstDovecotOptions, requests: RequestsPerOperation): Promise<Commands> {
  const logins = Math.max(5, Math.round(o.samples / 4));
  // First: every login runs the full password check (no verified-credential cache).
  const uncachedLogin = await side.fresh({ credentialCache: false });
  const first: number[] = [];
  await counted(side, requests, 'LOGIN + LOGOUT, first', logins, async () => {
    for (let i = 0; i < logins; i++) first.push(await loginOnce(uncachedLogin.imap));
  });
  const server = await side.fresh();
  await loginOnce(server.imap);
  const repeated: number[] = [];
  await counted(side, requests, 'LOGIN + LOGOUT, repeated', logins, async () => {
    for (let i = 0; i < logins; i++) repeated.push(await loginOnce(server.imap));
  });

  const c = await imapSession(server.imap, null);
  const selects = Math.max(3, Math.round(o.samples / 10));
  // Leaving Big for INBOX between samples lets the task drop Big's shared states, so each timed
  // SELECT reads them all again (mailbox-server/mailbox-states.ts); then Big selected again and again.
  const cold: number[] = [];
  await counted(side, requests, 'SELECT', selects, async () => {
    for (let i = 0; i < selects; i++) {
      cold.push(...(await timedEach(1, () => command(c, `b${i}`, 'SELECT Big'))));
      await command(c, `i${i}`, 'SELECT INBOX');
    }
  });
  const selectMs = p50(cold);
  await command(c, 'r', 'SELECT Big');
  const reselectMs = p50(await counted(side, requests, 'SELECT again', selects, () => timedEach(selects, (i) => command(c, `r${i}`, 'SELECT Big'))));
  await command(c, 's', 'SELECT INBOX');
  const storeMs = p50(await counted(side, requests, 'UID STORE', o.samples, () => timedEach(o.samples, (i) => command(c, `t${i}`, `UID STORE ${1 + (i % o.messages)} ${i % 2 ? '-' : '+'}FLAGS (\\Flagged)`))));
  const body = syntheticMessage(10 * 1024, 0, FROM, USER).toString('latin1');
  const appendMs = p50(await counted(side, requests, 'APPEND 10 KB', o.samples, () => timedEach(o.samples, async (i) => {
    await c.exchange(`a${i} APPEND Append (\\Seen) {${body.length}}`, /(^|\r\n)\+[^\r\n]*\r\n$/);
    const { tail } = await c.exchange(body, done(`a${i}`));
    if (!tail.includes(`a${i} OK`)) throw new Error(`APPEND: ${tail.slice(-200)}`);
  })));
  await command(c, 'o', 'LOGOUT');
  c.close();
  return { selectMs, reselectMs, loginFirstMs: p50(first), loginRepeatedMs: p50(repeated), appendMs, storeMs };
}

/**
 * `clients` connections for `seconds`. Sessions kept open: each logs in and selects INBOX once,
 * then loops over a body fetch, a flags/envelope fetch of 20 messages, a flag change and a NOOP
 * (commands completed per second). With a LOGIN per cycle: connect, LOGIN, SELECT, one body
 * fetch, LOGOUT (cycles per second).
 */
async function mixedLoad(port: number, o: AgainstDovecotOptions, loginPerCycle: boolean): Promise<number> {
  const random = (n: number) => 1 + Math.floor(Math.random() * n);
  // The clock starts once the sessions are open (or, per cycle, once a login has been checked
  // once): the steady state, not the first password check, is what this measures.
  const sessions = loginPerCycle ? [] : await Promise.all(Array.from({ length: o.loadClients }, () => imapSession(port)));
  if (loginPerCycle) await loginOnce(port);
  const started = performance.now();
  const deadline = started + o.loadSeconds * 1000;
  let completed = 0;
  const cycles = async () => {
    while (performance.now() < deadline) {
      const c = await imapSession(port);
      await command(c, 'f', `UID FETCH ${random(o.messages)} BODY.PEEK[]`);
      await command(c, 'o', 'LOGOUT');
      c.close();
      completed++;
    }
  };
  const commandsOn = async (c: WireClient, k: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const tag = `m${k}x${i}`;
      switch (i % 4) {
        case 0: await command(c, tag, `UID FETCH ${random(o.messages)} BODY.PEEK[]`); break;
        case 1: {
          const from = random(Math.max(1, o.messages - 20));
          await command(c, tag, `UID FETCH ${from}:${from + 19} (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`);
          break;
        }
        case 2: await command(c, tag, `UID STORE ${random(o.messages)} ${i % 8 === 2 ? '+' : '-'}FLAGS (\\Answered)`); break;
        default: await command(c, tag, 'NOOP');
      }
      completed++;
    }
  };
  await Promise.all(loginPerCycle ? Array.from({ length: o.loadClients }, cycles) : sessions.map(commandsOn));
  const result = rate(completed, started);
  for (const c of sessions) c.close();
  return result;
}

/** One message at a time over SMTP; from each 250 to the `* n EXISTS` an IDLE client on INBOX hears. */
async function deliveredToIdle(imapPort: number, smtpPort: number, o: AgainstDovecotOptions): Promise<number[]> {
  const c = await imapSession(imapPort);
  try {
    await c.exchange('i IDLE', /(^|\r\n)\+[^\r\n]*\r\n$/);
    const ms: number[] = [];
    for (let n = 0; n < o.deliveries; n++) {
      const heard = c.exchange(null, /\* \d+ EXISTS\r\n/, 60_000).then(() => performance.now());
      const [timing] = await sendOverOneConnection(smtpPort, () => ({ from: FROM, to: USER, body: syntheticMessage(o.sizeBytes, n, FROM, USER) }), 1);
      ms.push((await heard) - timing!.repliedAt);
    }
    await c.exchange('DONE', done('i'));
    return ms;
  } finally {
    c.close();
  }
}

// ---- our side --------------------------------------------------------------------------------

interface OurWorld extends Pick<BenchEmulators, 'aws' | 'resources' | 'inboundQueueArn'> {
  readonly cleanups: Array<() => Promise<void> | void>;
}

function ourSide(world: OurWorld, latency: LatencyModel | null, counter: RequestCounter): Side & { clients: AwsClients } {
  const clients = createAwsClients({ ...world.aws, latency }, counter);
  const capacity = new CapacityCounter();
  countCapacity(clients.dynamodb, capacity, world.resources.tables.messages);
  world.cleanups.push(() => destroyAwsClients(clients));
  return {
    name: `ours (${modelName(latency)})`,
    clients,
    requests: () => counter.total(),
    cost: () => ({ requests: counter.snapshot(), dynamo: { wru: capacity.writeUnits, rru: capacity.readUnits } }),
    // Each call stands for a task of its own.
    async fresh(options = {}) {
      const task = await startMailboxTask(clients, world.resources, options);
      world.cleanups.push(() => task.close());
      return task;
    },
  };
}

/**
 * Our SMTP edge and inbound function (the local stack's SQS→Lambda runner) on the side's clients,
 * the runner as the local stack runs it (batches of 10 as soon as there is one, two in flight).
 */
async function ourDelivery(world: OurWorld, clients: AwsClients): Promise<{ port: number; stop(): Promise<void> }> {
  const edge = await startBenchEdge(clients, world.resources);
  const inbound = startInboundFunction(clients, world, { batchSize: 10, maxBatchingWindowSeconds: 0, concurrency: 2, waitTimeSeconds: 2 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await edge.close();
    await inbound.stop();
  };
  // Also stopped at the end if a failure comes first; never two consumers on the queue at once.
  world.cleanups.push(stop);
  return { port: edge.port, stop };
}

/**
 * The emulators' own speed, no model: S3 GetObject with a session's reads in flight, DynamoDB
 * GetItem one by one, and the message states of the SELECT mailbox read by the store alone.
 */
async function emulatorSpeed(clients: AwsClients, resources: ResourceNames, keys: readonly string[], samples: number) {
  const blobs = new BlobStore(clients.s3, resources.bucket);
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: DEFAULT_BLOB_READ_LIMITS.perSession }, async () => {
    while (next < keys.length) await blobs.getBuffer(keys[next++]!);
  }));
  const s3GetsPerSecond = rate(keys.length, started);
  const getItemMs = p50(await timedEach(samples, () => clients.doc.send(new GetCommand({ TableName: resources.tables.directory, Key: { pk: `account#${USER}`, sk: 'account' } }))));
  const store = createStore(clients, resources);
  const big = (await store.mailStore.getMailbox(USER, 'Big'))!;
  const statesMs = p50(await timedEach(3, () => store.mailStore.listMessageStates(big.id, big.uidNext)));
  return { s3GetsPerSecond, getItemMs, statesMs };
}

// ---- the run ---------------------------------------------------------------------------------

export async function runAgainstDovecot(options: AgainstDovecotOptions) {
  const o = options;
  // In a process of their own (bench/emulator-process.ts), as Dovecot runs in its own.
  const emulators = await startBenchEmulators({ ownProcess: true });
  const { aws, setup, resources } = emulators;
  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAnchors: Array<() => Promise<void>> = [];
  const anchorLogs: Array<() => string> = [];
  const figures: Figure[] = [];
  const phase = (text: string) => console.log(`  [${new Date().toISOString().slice(11, 19)}] ${text}`);
  // An interrupted run still stops Postfix and Dovecot, which would outlive it.
  const interrupted = (signal: NodeJS.Signals) => {
    void Promise.all(stopAnchors.map((stop) => stop().catch(() => undefined))).then(() => emulators.stop()).finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    // ---- the same messages on both sides
    const setupStore = createStore(setup, resources);
    await setupStore.directory.addDomain('example.test');
    await setupStore.directory.addAccount(USER, PASSWORD);
    for (const name of ['Big', 'Append']) await setupStore.mailStore.createMailbox(USER, name);
    const setupBlobs = new BlobStore(setup.s3, resources.bucket);
    const keys = Array.from({ length: o.messages }, (_, i) => `raw/bench/${i}.eml`);
    const bodies = keys.map((_, i) => syntheticMessage(o.sizeBytes, i, FROM, USER));
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k, j) => setupBlobs.put(k, bodies[i + j]!)));
    const day = new Date().toISOString();
    const inbox = (await setupStore.mailStore.getMailbox(USER, 'INBOX'))!;
    await seedMailbox(setup.doc, resources.tables, inbox, keys.length, (i) => ({ blobKey: keys[i]!, size: bodies[i]!.length, index: indexMessage(bodies[i]!), flags: ['\\Seen'], internalDate: day }));
    const big = (await setupStore.mailStore.getMailbox(USER, 'Big'))!;
    const bigIndex = indexMessage(bodies[0]!);
    const bigFlags = (i: number) => (i % 3 ? ['\\Seen'] : []);
    await seedMailbox(setup.doc, resources.tables, big, o.selectMailbox, (i) => ({ blobKey: keys[0]!, size: bodies[0]!.length, index: bigIndex, flags: bigFlags(i), internalDate: day }), 8);

    const dovecot = await startDovecotAnchor({ user: USER, password: PASSWORD, lmtp: true });
    stopAnchors.push(() => dovecot.stop());
    anchorLogs.push(() => dovecot.logs());
    dovecot.fill('INBOX', bodies, () => ['\\Seen']);
    dovecot.fill('Big', Array.from({ length: o.selectMailbox }, () => bodies[0]!), bigFlags);
    dovecot.fill('Append', [], () => []);
    const postfix = await startPostfix({ domains: ['example.test'], transport: `lmtp:inet:127.0.0.1:${dovecot.ports.lmtp}` });
    stopAnchors.push(() => postfix.stop());
    const anchorSide: Side = { name: 'Dovecot', fresh: async () => ({ imap: dovecot.ports.imap, pop3: dovecot.ports.pop3 }), requests: () => 0 };

    // ---- the anchor
    phase('Dovecot: retrieval');
    const anchorRetrieval = await retrieval(anchorSide, o, {});
    phase('Dovecot: single commands');
    const anchorCommands = await commands(anchorSide, o, {});
    phase('Dovecot: mixed load');
    const anchorLoadOpen = await mixedLoad(dovecot.ports.imap, o, false);
    const anchorLoadLogin = await mixedLoad(dovecot.ports.imap, o, true);
    phase('Postfix → Dovecot: 250 → IDLE');
    const anchorVisible = await deliveredToIdle(dovecot.ports.imap, postfix.port, o);

    // ---- ours, without and with the latency model
    const world: OurWorld = { ...emulators, cleanups };
    const requests: Record<string, Record<string, number>> = {};
    const requestsPerOperation: Record<string, RequestsPerOperation> = {};
    const retrievalDollarsPerMillion: Record<string, Record<string, number>> = {};
    // Both passes read first, then both write: the writes of one pass (STORE, the mixed load,
    // deliveries) would otherwise leave the next pass's reads a mailbox that changed seconds ago,
    // whose sessions keep asking the index until the changes settle (core/store/resync.ts).
    const passes = [null, o.latency].map((latency) => {
      const counter = new RequestCounter();
      return { latency, model: modelName(latency), counter, side: ourSide(world, latency, counter), perOperation: {} as RequestsPerOperation };
    });
    const retrieved = new Map<string, Retrieval>();
    for (const { model, side, perOperation } of passes) {
      phase(`ours (${model}): retrieval`);
      requestsPerOperation[model] = perOperation;
      const r = await retrieval(side, o, perOperation);
      retrievalDollarsPerMillion[model] = r.dollarsPerMillion;
      retrieved.set(model, r);
    }
    for (const { model, side, perOperation, counter } of passes) {
      const r = retrieved.get(model)!;
      phase(`ours (${model}): single commands`);
      const c = await commands(side, o, perOperation);
      phase(`ours (${model}): mixed load`);
      const open = await mixedLoad((await side.fresh()).imap, o, false);
      const perCycle = await mixedLoad((await side.fresh()).imap, o, true);
      phase(`ours (${model}): 250 → IDLE`);
      const delivery = await ourDelivery(world, side.clients);
      const visible = await deliveredToIdle((await side.fresh()).imap, delivery.port, o);
      await delivery.stop();
      requests[model] = counter.snapshot();
      const a = anchorRetrieval;
      const ac = anchorCommands;
      figures.push(
        figure('POP3 RETR all, first read', 'msg/s', r.pop3Cold, a.pop3Cold, model),
        figure('POP3 RETR all, warm', 'msg/s', r.pop3Warm, a.pop3Warm, model),
        figure(`FETCH 1:${o.messages} BODY[], cold`, 'msg/s', r.fetchCold, a.fetchCold, model),
        figure(`FETCH 1:${o.messages} BODY[], warm`, 'msg/s', r.fetchWarm, a.fetchWarm, model),
        figure('single UID FETCH BODY[], uncached, p50', 'ms', r.uidFetchUncachedMs, a.uidFetchUncachedMs, model),
        figure('single UID FETCH BODY[], cached, p50', 'ms', r.uidFetchCachedMs, a.uidFetchCachedMs, model),
        figure(`SELECT of ${o.selectMailbox}, p50`, 'ms', c.selectMs, ac.selectMs, model),
        figure(`SELECT of ${o.selectMailbox} again (already selected), p50`, 'ms', c.reselectMs, ac.reselectMs, model),
        figure('LOGIN, first (password checked), p50', 'ms', c.loginFirstMs, ac.loginFirstMs, model),
        figure('LOGIN, repeated, p50', 'ms', c.loginRepeatedMs, ac.loginRepeatedMs, model),
        figure('APPEND 10 KB, p50', 'ms', c.appendMs, ac.appendMs, model),
        figure('UID STORE, p50', 'ms', c.storeMs, ac.storeMs, model),
        figure(`mixed load, ${o.loadClients} clients, sessions open`, 'commands/s', open, anchorLoadOpen, model),
        figure(`mixed load, ${o.loadClients} clients, LOGIN per cycle`, 'cycles/s', perCycle, anchorLoadLogin, model),
        figure('250 → visible to IDLE, p50', 'ms', percentile(visible, 50), percentile(anchorVisible, 50), model),
        figure('250 → visible to IDLE, p99', 'ms', percentile(visible, 99), percentile(anchorVisible, 99), model),
      );
    }
    phase('the emulators, no model');
    const emulator = await emulatorSpeed(setup, resources, keys, o.samples);
    figures.push(
      figure(`emulator: S3 GetObject, ${DEFAULT_BLOB_READ_LIMITS.perSession} in flight`, 'msg/s', emulator.s3GetsPerSecond, null, 'off'),
      figure('emulator: DynamoDB GetItem, p50', 'ms', emulator.getItemMs, null, 'off'),
      figure(`emulator: message states of the ${o.selectMailbox}-message mailbox (SELECT's Queries), p50`, 'ms', emulator.statesMs, null, 'off'),
    );
    return { options: o, figures, requests, requestsPerOperation, retrievalDollarsPerMillion, pricesAsOf: PRICES_AS_OF };
  } catch (error) {
    for (const log of anchorLogs) console.error(log().slice(-4000));
    throw error;
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    for (const stop of stopAnchors.reverse()) await stop().catch(() => undefined);
    await emulators.stop();
  }
}

export function printAgainstDovecot(result: Awaited<ReturnType<typeof runAgainstDovecot>>): void {
  const o = result.options;
  console.log(`\nIMAP and POP3 against Dovecot (${o.messages} messages of ${o.sizeBytes} B, SELECT on ${o.selectMailbox}, ${o.samples} samples, load ${o.loadClients} clients × ${o.loadSeconds} s, ${o.deliveries} deliveries to IDLE)`);
  console.log('ratio: our speed relative to the anchor (ours/anchor for rates, anchor/ours for times); above 1 we are faster');
  printFigures(result.figures);
  for (const [model, counts] of Object.entries(result.requests)) console.log(`AWS requests of our servers (${model}):`, counts);
  for (const [model, counts] of Object.entries(result.requestsPerOperation)) console.log(`AWS requests per operation (${model}):`, counts);
  const prices = `on-demand requests, ${result.pricesAsOf.region}, prices of ${result.pricesAsOf.date}`;
  for (const [model, dollars] of Object.entries(result.retrievalDollarsPerMillion)) console.log(`Dollars per million messages of ${o.sizeBytes} B read (${model}; ${prices}):`, dollars);
}
