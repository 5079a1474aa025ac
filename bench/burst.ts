// Mail arriving in bulk, ours against the classic stack in the same run (bench/README.md, `burst`):
// 1. A burst of real messages (the SpamAssassin corpus) to one mailbox, over one SMTP session and
//    over several: from the first MAIL FROM until IMAP clients idling on INBOX (and, ours, Junk)
//    have heard `* n EXISTS` for every one. Ours: edge → S3/SQS → inbound function → DynamoDB → IMAP, on the
//    emulators with no latency model; the anchor: Postfix → LMTP → Dovecot.
// 2. Sustained filing: the inbound queue filled beforehand (by the edge, with no consumer
//    running), then the inbound function started with the event-source settings the CDK stack
//    deploys; messages/s until every one is filed, into one mailbox and round-robin into many,
//    with the AWS latency model off and on. The anchor: Dovecot's LMTP, the same messages pushed
//    by as many LMTP sessions as our function runs batches at once.
import { loadavg } from 'node:os';
import { ImapFlow } from 'imapflow';
import { createAwsClients, destroyAwsClients, RequestCounter } from '../core/aws.ts';
import type { LatencyModel } from '../core/aws/latency.ts';
import { createStore } from '../core/store/index.ts';
import { wholeCorpus } from '../test/helpers/spam-assassin-corpus.ts';
import { startDovecotAnchor } from './anchors/dovecot.ts';
import { startPostfix } from './anchors/postfix.ts';
import { figure, modelName, printFigures, type Figure } from './figures.ts';
import { startBenchEdge, startBenchEmulators, startInboundFunction, startMailboxTask, type InboundFunctionSettings } from './our-stack.ts';
import { sendOverOneConnection, type TransactionTiming } from './smtp-load.ts';

export interface BurstOptions {
  readonly burst: {
    /** Messages, the corpus's first ones (at most the whole corpus, 6,046). */
    readonly messages: number;
    /** SMTP sessions of the second burst (the first has one). */
    readonly sessions: number;
  };
  readonly filing: {
    /** Messages filed from the filled queue in each run. */
    readonly messages: number;
    /** Mailboxes of the "many" runs. */
    readonly mailboxes: number;
    /** The model of the "on" half. */
    readonly latency: LatencyModel;
    /** The inbound function's event source (bench/our-stack.ts deployedInboundSettings). */
    readonly inbound: InboundFunctionSettings;
  };
}

/** Who the messages are from and to; every account has the one password. */
const MAIL = { domain: 'example.test', password: 'bench-password-1', from: 'sender@remote.test' } as const;
const burstUser = (sessions: number) => `burst-${sessions}@${MAIL.domain}`;
const ONE = `filing@${MAIL.domain}`;
const manyUser = (i: number) => `filing-${i}@${MAIL.domain}`;

/** The first `count` corpus messages, each a valid SMTP payload: a lone CR becomes CRLF as well. */
function corpus(count: number): Buffer[] {
  return wholeCorpus().slice(0, count).map((m) => Buffer.from(m.toString('latin1').replace(/\r(?!\n)/g, '\r\n'), 'latin1'));
}

/** `bodies` to `to(i)`, split over `sessions` sessions at once. */
async function send(port: number, bodies: readonly Buffer[], to: (i: number) => string, sessions: number, lmtp = false): Promise<TransactionTiming[]> {
  let n = 0;
  const next = () => ({ from: MAIL.from, to: to(n), body: bodies[n++]! });
  const perSession = Math.ceil(bodies.length / sessions);
  const counts = Array.from({ length: sessions }, (_, i) => Math.max(0, Math.min(perSession, bodies.length - i * perSession))).filter((c) => c > 0);
  return (await Promise.all(counts.map((count) => sendOverOneConnection(port, next, count, { lmtp })))).flat();
}

/**
 * IMAP clients (imapflow) idling on each of `mailboxes`, noting when they hear `* n EXISTS`: the
 * messages visible in all of them together. Ours files a message with an executable attachment
 * into Junk (core/junk/signals.ts), so our side watches INBOX and Junk; Dovecot files all in INBOX.
 */
async function watchMailboxes(port: number, user: string, mailboxes: readonly string[], expected: number) {
  const counts = new Map<string, number>(mailboxes.map((m) => [m, 0]));
  const heard: Array<{ count: number; at: number }> = [];
  let all = (_at: number) => {};
  const allSeen = new Promise<number>((resolve) => { all = resolve; });
  const sessions: Array<{ client: ImapFlow; idling: Promise<unknown> }> = [];
  const close = async () => {
    for (const { client, idling } of sessions) {
      await client.logout().catch(() => client.close());
      await idling;
    }
  };
  try {
    for (const mailbox of mailboxes) {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user, pass: MAIL.password }, logger: false, disableAutoIdle: true });
      await client.connect();
      sessions.push({ client, idling: Promise.resolve() });
      client.on('exists', ({ count }: { count: number }) => {
        const at = performance.now();
        counts.set(mailbox, count);
        const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
        heard.push({ count: total, at });
        if (total >= expected) all(at);
      });
      await client.mailboxOpen(mailbox);
      if (client.mailbox && client.mailbox.exists !== 0) throw new Error(`${user}'s ${mailbox} is not empty`);
      sessions.at(-1)!.idling = client.idle().catch(() => undefined);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    heard,
    /** Messages in each watched mailbox, as last heard. */
    counts,
    /** When all `expected` were visible; rejects after `timeoutMs` with what was seen. */
    async allVisible(timeoutMs: number): Promise<number> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${user}: ${heard.at(-1)?.count ?? 0} of ${expected} visible after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([allSeen, late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close,
  };
}

/** What one burst measured, on either side. */
export interface BurstRun {
  readonly messages: number;
  readonly sessions: number;
  /** Messages the IMAP client saw (the burst's size when it ended). */
  readonly seen: number;
  /** Of those, how many in each watched mailbox (ours: INBOX and Junk). */
  readonly perMailbox: Record<string, number>;
  /** Accepted messages per second: from the first MAIL FROM to the last 250. */
  readonly acceptRate: number;
  /** From the first MAIL FROM until the IMAP client saw every message. */
  readonly visibleSeconds: number;
  /** Messages per second made visible, from the first EXISTS the client heard to the last. */
  readonly filingRate: number;
}

/** Generous: a stalled pipeline fails the run rather than hanging it. */
const visibleWithinMs = (messages: number) => Math.max(120_000, messages * 200);

async function burst(smtpPort: number, imapPort: number, mailboxes: readonly string[], bodies: readonly Buffer[], sessions: number): Promise<BurstRun & { startedAt: number }> {
  const user = burstUser(sessions);
  const watcher = await watchMailboxes(imapPort, user, mailboxes, bodies.length);
  try {
    const timings = await send(smtpPort, bodies, () => user, sessions);
    const allAt = await watcher.allVisible(visibleWithinMs(bodies.length));
    const start = Math.min(...timings.map((t) => t.mailFromAt));
    const lastAccepted = Math.max(...timings.map((t) => t.repliedAt));
    const first = watcher.heard[0]!;
    return {
      startedAt: start,
      messages: bodies.length,
      sessions,
      seen: watcher.heard.at(-1)!.count,
      perMailbox: Object.fromEntries(watcher.counts),
      acceptRate: timings.length / ((lastAccepted - start) / 1000),
      visibleSeconds: (allAt - start) / 1000,
      // the first EXISTS already shows `first.count`; when one EXISTS showed them all, the whole span
      filingRate: allAt > first.at ? (bodies.length - first.count) / ((allAt - first.at) / 1000) : bodies.length / ((allAt - start) / 1000),
    };
  } finally {
    await watcher.close();
  }
}

/** One sustained-filing run of ours: what was filed, how fast, and the AWS requests per message. */
export interface FilingRun {
  readonly mailboxes: number;
  readonly latencyModel: string;
  readonly filed: number;
  readonly messagesPerSecond: number;
  readonly requestsPerMessage: number;
}

export async function runBurstBenchmark(options: BurstOptions) {
  const { burst: b, filing: f } = options;
  const bodies = corpus(Math.max(b.messages, f.messages));
  const burstBodies = bodies.slice(0, b.messages);
  const filingBodies = bodies.slice(0, f.messages);
  const many = Array.from({ length: f.mailboxes }, (_, i) => manyUser(i));
  const burstUsers = [burstUser(1), burstUser(b.sessions)];
  const users = [...new Set([...burstUsers, ONE, ...many])];
  // each phase with the machine's load as it began: the two sides run one after the other
  const phases: Array<{ at: string; phase: string; loadAverage: number[] }> = [];
  const phase = (text: string) => {
    const at = new Date().toISOString();
    phases.push({ at, phase: text, loadAverage: loadavg().map((n) => +n.toFixed(1)) });
    console.log(`  [${at.slice(11, 19)}] ${text} (load ${phases.at(-1)!.loadAverage.join(', ')})`);
  };

  const emulators = await startBenchEmulators({ ownProcess: true });
  const cleanups: Array<() => Promise<void>> = [];
  // An interrupted run still stops Postfix and Dovecot, which would outlive it.
  const interrupted = (signal: NodeJS.Signals) => {
    void Promise.all(cleanups.map((c) => c().catch(() => undefined))).then(() => emulators.stop()).finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const { aws, setup, resources } = emulators;
    const store = createStore(setup, resources);
    await store.directory.addDomain(MAIL.domain);
    for (let i = 0; i < users.length; i += 8) await Promise.all(users.slice(i, i + 8).map((u) => store.directory.addAccount(u, MAIL.password)));

    phase(`anchor: Dovecot with ${users.length} users, Postfix delivering to it over LMTP`);
    const dovecot = await startDovecotAnchor({ user: users[0]!, password: MAIL.password, lmtp: true, moreUsers: users.slice(1) });
    cleanups.push(() => dovecot.stop());
    const postfix = await startPostfix({ domains: [MAIL.domain], transport: `lmtp:inet:127.0.0.1:${dovecot.ports.lmtp}` });
    cleanups.push(() => postfix.stop());

    // ---- 1. bursts, the anchor first (its queue is empty again before ours starts)
    const bursts: Array<{ anchor: BurstRun; ours: BurstRun; lastFiledSeconds: number }> = [];
    const anchorBursts: BurstRun[] = [];
    for (const sessions of [1, b.sessions]) {
      phase(`Postfix → LMTP → Dovecot: burst of ${burstBodies.length} over ${sessions} session(s)`);
      const { startedAt: _, ...anchor } = await burst(postfix.port, dovecot.ports.imap, ['INBOX'], burstBodies, sessions);
      anchorBursts.push(anchor);
    }
    {
      const clients = createAwsClients(aws);
      const edge = await startBenchEdge(clients, resources, { maxConnectionsPerIp: b.sessions + 4 });
      let lastFiledAt = 0;
      const inbound = startInboundFunction(clients, emulators, f.inbound, (_, at) => { lastFiledAt = at; });
      const task = await startMailboxTask(clients, resources);
      try {
        for (const [i, sessions] of [1, b.sessions].entries()) {
          phase(`ours: burst of ${burstBodies.length} over ${sessions} session(s)`);
          const { startedAt, ...ours } = await burst(edge.port, task.imap, ['INBOX', 'Junk'], burstBodies, sessions);
          bursts.push({ anchor: anchorBursts[i]!, ours, lastFiledSeconds: (lastFiledAt - startedAt) / 1000 });
        }
      } finally {
        await edge.close();
        await inbound.stop();
        await task.close();
        destroyAwsClients(clients);
      }
    }

    // ---- 2. sustained filing from a filled queue
    const targets = [
      { mailboxes: 1, to: () => ONE },
      { mailboxes: f.mailboxes, to: (i: number) => many[i % many.length]! },
    ];
    const anchorFiling: Record<number, { delivered: number; messagesPerSecond: number }> = {};
    for (const target of targets) {
      phase(`Dovecot LMTP: ${filingBodies.length} into ${target.mailboxes} mailbox(es), ${f.inbound.concurrency} sessions`);
      const started = performance.now();
      const timings = await send(dovecot.ports.lmtp!, filingBodies, target.to, f.inbound.concurrency, true);
      anchorFiling[target.mailboxes] = { delivered: timings.length, messagesPerSecond: timings.length / ((performance.now() - started) / 1000) };
    }
    const filing: FilingRun[] = [];
    for (const latency of [null, f.latency]) {
      for (const target of targets) {
        phase(`ours (${modelName(latency)}): filling the queue with ${filingBodies.length} for ${target.mailboxes} mailbox(es)`);
        const edge = await startBenchEdge(setup, resources, { maxConnectionsPerIp: f.inbound.concurrency + 4 });
        try {
          await send(edge.port, filingBodies, target.to, f.inbound.concurrency);
        } finally {
          await edge.close();
        }
        phase(`ours (${modelName(latency)}): filing`);
        const counter = new RequestCounter();
        const clients = createAwsClients({ ...aws, latency }, counter);
        let filed = 0;
        let allFiled = (_at: number) => {};
        const done = new Promise<number>((resolve) => { allFiled = resolve; });
        const started = performance.now();
        const inbound = startInboundFunction(clients, emulators, f.inbound, (ids, at) => {
          filed += ids.length;
          if (filed >= filingBodies.length) allFiled(at);
        });
        let timer: NodeJS.Timeout | undefined;
        try {
          const finished = await Promise.race([done, new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`filing: ${filed} of ${filingBodies.length} filed`)), visibleWithinMs(filingBodies.length));
          })]);
          filing.push({
            mailboxes: target.mailboxes,
            latencyModel: modelName(latency),
            filed,
            messagesPerSecond: filed / ((finished - started) / 1000),
            requestsPerMessage: +(counter.total() / filed).toFixed(2),
          });
        } finally {
          clearTimeout(timer);
          await inbound.stop();
          destroyAwsClients(clients);
        }
      }
    }

    const figures: Figure[] = [];
    for (const { anchor, ours } of bursts) {
      const what = `burst of ${ours.messages} real messages to one mailbox, ${ours.sessions} session${ours.sessions === 1 ? '' : 's'}`;
      figures.push(
        figure(`${what}: accepted → all visible`, 's', ours.visibleSeconds, anchor.visibleSeconds, 'off'),
        figure(`${what}: accept rate`, 'msg/s', ours.acceptRate, anchor.acceptRate, 'off'),
        figure(`${what}: filing rate`, 'msg/s', ours.filingRate, anchor.filingRate, 'off'),
      );
    }
    for (const run of filing) {
      figures.push(figure(`sustained filing of ${run.filed} into ${run.mailboxes} mailbox${run.mailboxes === 1 ? '' : 'es'} (Dovecot LMTP)`, 'msg/s', run.messagesPerSecond, anchorFiling[run.mailboxes]!.messagesPerSecond, run.latencyModel));
    }
    return { options, figures, bursts, filing, anchorFiling, phases };
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await emulators.stop();
  }
}

export function printBurst(result: Awaited<ReturnType<typeof runBurstBenchmark>>): void {
  const { burst: b, filing: f } = result.options;
  const s = f.inbound;
  console.log(`\nBursts of ${b.messages} real messages (SpamAssassin corpus) to one mailbox, over 1 and ${b.sessions} SMTP sessions, against Postfix → LMTP → Dovecot;`
    + ` sustained filing of ${f.messages} from a filled queue into 1 and ${f.mailboxes} mailboxes against Dovecot's LMTP`
    + ` (inbound function: batches of ${s.batchSize}, window ${s.maxBatchingWindowSeconds} s, ${s.concurrency} at once; LMTP: ${s.concurrency} sessions)`);
  printFigures(result.figures);
  for (const run of result.bursts) {
    console.log(`ours, ${run.ours.sessions} session(s): last message filed ${run.lastFiledSeconds.toFixed(1)} s after the first MAIL FROM, all visible over IMAP after ${run.ours.visibleSeconds.toFixed(1)} s`);
  }
  for (const run of result.filing) console.log(`ours, filing into ${run.mailboxes} mailbox(es) [${run.latencyModel}]: ${run.requestsPerMessage} AWS requests per message`);
}
