// What both invariant-3 concurrency tests (uid-concurrency, uid-batch-concurrency) drive: writer
// processes (uid-worker.ts) filing into one mailbox on the emulators, each announcing where it
// stalls so that it can be killed there, and a reader polling the mailbox all the while that fails
// on any snapshot that is not a gap-free prefix 1..k (docs/decisions/0003-uid-protocol.md).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestWorld, type TestWorld } from '../../helpers/emulators.ts';
import { createStore, type Store } from '../../../core/store/index.ts';

const worker = fileURLToPath(new URL('./uid-worker.ts', import.meta.url));
const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));

/** What a writer is told besides where the tables are (see uid-worker.ts). */
export interface WriterJob {
  readonly keys: string[];
  readonly batch?: number;
  readonly stallKey?: string;
  readonly stallAt?: 'put' | 'claim' | 'reserve';
}

export interface Writer {
  readonly child: ChildProcess;
  readonly lines: Interface;
  /** The exit code, or the signal that ended it. */
  readonly exit: Promise<number | string | null>;
  /** The UID it stalled at; rejects if it exits first. */
  readonly stalled: Promise<number>;
}

export interface WriterRig {
  readonly world: TestWorld;
  readonly mailStore: Store['mailStore'];
  readonly account: string;
  /** Starts a writer process; every writer still running when the test ends is killed. */
  run(job: WriterJob): Writer;
}

/** Emulators, an account `writer@<domain>`, and writers on it; all stopped when `t` ends. */
export async function startWriterRig(t: TestContext, domain: string): Promise<WriterRig> {
  const world = await startTestWorld();
  t.after(() => world.close());
  const { directory, mailStore } = createStore(world.clients, world.config.resources);
  await directory.addDomain(domain);
  const account = (await directory.addAccount(`writer@${domain}`, 'pw')).address;

  const children = new Set<ChildProcess>();
  t.after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const run = (job: WriterJob): Writer => {
    const full = { endpoint: world.emulators.dynamoEndpoint, tables: world.config.resources.tables, account, ...job };
    const child = spawn(node, ['--import', 'tsx', worker], { env: { ...process.env, UID_WORKER_JOB: JSON.stringify(full) }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    const lines = createInterface({ input: child.stdout! });
    const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    const stalled = new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const match = /^stalled (\d+)$/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      void exit.then((code) => reject(new Error(`writer exited (${code}) before stalling`)));
    });
    stalled.catch(() => undefined);
    return { child, lines, exit, stalled };
  };
  return { world, mailStore, account, run };
}

/**
 * The end state invariant 3 promises once every writer (or its redelivery) has finished: UIDs 1..n,
 * each delivery key filed exactly once, uidNext n + 1. Returns the messages in UID order.
 */
export async function assertEachFiledOnce(mailStore: Store['mailStore'], account: string, keys: string[]) {
  const final = await mailStore.listMessages(account, 'INBOX');
  assert.deepEqual(final.map((m) => m.uid), Array.from({ length: keys.length }, (_, i) => i + 1));
  const subjects = final.map((m) => m.index.envelope.subject);
  const expected = keys.map((k) => `message ${k}`);
  assert.deepEqual([...subjects].sort(), expected.sort(), 'each delivery filed exactly once');
  const inbox = (await mailStore.getMailbox(account, 'INBOX'))!;
  assert.equal(inbox.uidNext, keys.length + 1);
  return final;
}

/**
 * Reads the mailbox over and over until stopped: every snapshot must be exactly 1..k, k never
 * shrinks, and a UID never changes message.
 */
export class GapFreeReader {
  snapshots = 0;
  private reading = true;
  /** Settles when the reader has stopped; rejects with the first broken snapshot. */
  readonly done: Promise<void>;

  constructor(mailStore: Store['mailStore'], account: string) {
    this.done = this.poll(mailStore, account);
    this.done.catch(() => undefined); // its failure is rethrown by `stop()` or `done`
  }

  /** Stops reading; rejects if a snapshot broke the invariant. */
  stop(): Promise<void> {
    this.reading = false;
    return this.done;
  }

  private async poll(mailStore: Store['mailStore'], account: string): Promise<void> {
    const seen = new Map<number, string>();
    let largest = 0;
    while (this.reading) {
      const messages = await mailStore.listMessages(account, 'INBOX');
      const uids = messages.map((m) => m.uid);
      assert.deepEqual(uids, Array.from({ length: uids.length }, (_, i) => i + 1), 'a snapshot must be a gap-free prefix');
      assert.ok(uids.length >= largest, 'visible messages never disappear');
      largest = uids.length;
      for (const m of messages) {
        const subject = m.index.envelope.subject!;
        assert.equal(seen.get(m.uid) ?? subject, subject, `UID ${m.uid} changed message`);
        seen.set(m.uid, subject);
      }
      this.snapshots++;
    }
  }
}

/**
 * The end state when a writer was killed between claiming UIDs and putting its messages: a
 * redelivery that finds a claimed UID still empty fills it with a tombstone before filing
 * elsewhere (docs/decisions/0024-sparse-index-and-delivery-claims.md), so the messages' UIDs ascend
 * but need not be dense. What invariant 3 asks still holds over the items: every UID below uidNext
 * holds one (a message or such a tombstone), none above; each delivery key is filed exactly once;
 * and at most `givenUp` UIDs hold no message.
 */
export async function assertEachFiledOnceOverItems(mailStore: Store['mailStore'], account: string, keys: string[], givenUp: number) {
  const inbox = (await mailStore.getMailbox(account, 'INBOX'))!;
  const items = await mailStore.listMessageStates(inbox.id, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(items.map((s) => s.uid), Array.from({ length: inbox.uidNext - 1 }, (_, i) => i + 1), 'every UID below uidNext holds an item, none above');
  const final = await mailStore.listMessages(account, 'INBOX');
  assert.deepEqual([...final.map((m) => m.index.envelope.subject)].sort(), keys.map((k) => `message ${k}`).sort(), 'each delivery filed exactly once');
  assert.ok(inbox.uidNext - 1 - keys.length <= givenUp, `${inbox.uidNext - 1 - keys.length} UIDs hold no message`);
  return final;
}

/**
 * GapFreeReader over the items: every snapshot's items are exactly 1..uidNext-1 (tombstones of
 * UIDs never shown included, see assertEachFiledOnceOverItems), the messages shown only grow, and
 * a UID never changes message.
 */
export class GapFreeItemsReader {
  snapshots = 0;
  private reading = true;
  readonly done: Promise<void>;

  constructor(mailStore: Store['mailStore'], account: string) {
    this.done = this.poll(mailStore, account);
    this.done.catch(() => undefined);
  }

  stop(): Promise<void> {
    this.reading = false;
    return this.done;
  }

  private async poll(mailStore: Store['mailStore'], account: string): Promise<void> {
    const seen = new Map<number, string>();
    let shown: number[] = [];
    while (this.reading) {
      const inbox = (await mailStore.getMailbox(account, 'INBOX'))!;
      const items = (await mailStore.listMessageStates(inbox.id, inbox.uidNext)).map((s) => s.uid);
      assert.deepEqual(items, Array.from({ length: inbox.uidNext - 1 }, (_, i) => i + 1), 'a snapshot must be a gap-free prefix');
      const messages = await mailStore.listMessages(account, 'INBOX');
      const uids = messages.map((m) => m.uid);
      assert.ok(uids.every((uid, i) => i === 0 || uid > uids[i - 1]!), 'UIDs ascend');
      assert.ok(shown.every((uid, i) => uids[i] === uid), 'visible messages never disappear');
      shown = uids;
      for (const m of messages) {
        const subject = m.index.envelope.subject!;
        assert.equal(seen.get(m.uid) ?? subject, subject, `UID ${m.uid} changed message`);
        seen.set(m.uid, subject);
      }
      this.snapshots++;
    }
  }
}
