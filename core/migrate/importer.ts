// Copies a message source (IMAP, files) into an account through the store's filing path:
// blob to S3, MIME index, fileMessage, as inbound and APPEND do. Resumable and idempotent:
// each message's delivery key and blob key derive from (account, source, folder, UIDVALIDITY,
// UID), so filing it twice gives one message, and a checkpoint per folder (core/store/
// import-progress.ts) lets a rerun ask the source only for what is new.
import { createHash } from 'node:crypto';
import { rawBlobKey } from '../blobs.ts';
import { indexMessage } from '../mime/index.ts';
import { fitsInQuota, type QuotaUsage } from '../store/quota.ts';
import { StoreError, type FileRequest, type FileResult, type Mailbox, type MessageItem, type SpecialUse } from '../store/types.ts';
import type { FolderCheckpoint, ImportProgress } from '../store/import-progress.ts';
import { planFolders, type FolderPlan, type FolderRules } from './folders.ts';
import { SourceError, type MessageFingerprint, type MessageSize, type MessageSource, type OpenFolder, type SourceMessage } from './source.ts';

/** What the importer needs of the target stack. */
export interface ImportTarget {
  readonly mailStore: {
    listMailboxes(account: string): Promise<Mailbox[]>;
    createMailbox(account: string, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
    listMessages(account: string, mailbox: string): Promise<MessageItem[]>;
    fileMessage(request: FileRequest): Promise<FileResult>;
  };
  readonly blobs: { put(key: string, body: Buffer): Promise<void> };
  readonly progress: ImportProgress;
  /** The account's quota and usage, null without a quota. */
  quotaUsage(account: string): Promise<QuotaUsage | null>;
}

export interface ImportOptions {
  readonly account: string;
  readonly rules: FolderRules;
  /** Messages asked of the source in one FETCH (pipelined: the next is asked while this one is filed). */
  readonly batchMessages?: number;
  /** Bytes asked for in one FETCH: what the source may have sent ahead of the filing is bounded by it. */
  readonly batchBytes?: number;
  /** Bytes of messages held at once between fetching and filing; one larger message still passes alone. */
  readonly inFlightBytes?: number;
  /** Blob uploads running at once. */
  readonly uploads?: number;
  /** Folders copied at once (each on its own source connection where the source can fork one). */
  readonly parallelFolders?: number;
  /** Stops asking the source for more; what is in flight is filed and the checkpoint saved. */
  readonly signal?: AbortSignal;
}

export interface FolderPlanned {
  readonly name: string;
  readonly target: string;
  readonly messages: number;
  readonly bytes: number;
  /** The source's UIDVALIDITY changed since the last run: messages are matched, not re-copied. */
  readonly matched: boolean;
}

export interface FolderSummary {
  readonly name: string;
  readonly target: string;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  /** Set when the folder could not be finished (the source went away, refused it). */
  error?: string;
}

export interface MessageFailure {
  readonly folder: string;
  readonly uid: number;
  readonly reason: string;
}

export type ImportEvent =
  | { readonly kind: 'planned'; readonly folders: readonly FolderPlanned[]; readonly skipped: readonly { name: string; reason: string }[]; readonly messages: number; readonly bytes: number }
  | { readonly kind: 'folder-start'; readonly name: string; readonly target: string }
  | { readonly kind: 'message'; readonly folder: string; readonly outcome: 'copied' | 'skipped' | 'failed'; readonly bytes: number }
  | { readonly kind: 'folder-done'; readonly folder: FolderSummary };

export interface ImportSummary {
  readonly folders: FolderSummary[];
  readonly skippedFolders: { name: string; reason: string }[];
  readonly copied: number;
  readonly skipped: number;
  readonly failed: number;
  readonly failures: MessageFailure[];
  readonly bytes: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  readonly megabytesPerSecond: number;
  /** True when the run stopped early (aborted, or a folder failed): a rerun continues. */
  readonly incomplete: boolean;
}

/** The source holds more than the account's quota leaves room for. */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
}

interface FolderWork {
  readonly plan: Extract<FolderPlan, { kind: 'copy' }>;
  readonly uidValidity: string;
  readonly checkpoint: FolderCheckpoint | null;
  /** Ascending. */
  readonly todo: readonly MessageSize[];
  /** Matching mode only: messages already present, and the highest UID the source had. */
  readonly matchedPresent: number;
  readonly highestUid: number;
}

const MIB = 1024 * 1024;

/** A counting gate for bytes and slots: acquire waits until the amounts fit (one oversized item passes alone). */
class InFlightLimit {
  private bytes = 0;
  private slots = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly maxBytes: number,
    private readonly maxSlots: number,
  ) {}

  async acquire(bytes: number): Promise<void> {
    while (this.slots > 0 && (this.bytes + bytes > this.maxBytes || this.slots >= this.maxSlots)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.bytes += bytes;
    this.slots++;
  }

  release(bytes: number): void {
    this.bytes -= bytes;
    this.slots--;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

const fingerprintKey = (messageId: string | null, size: number, date: Date | string) =>
  `${(messageId ?? '').trim()}\0${size}\0${Math.floor(new Date(date).getTime() / 1000)}`;

const describe = (err: unknown) => ((err as Error)?.message ?? String(err)).replace(/\s*\n\s*/g, ' ').trim();

export async function importMessages(source: MessageSource, target: ImportTarget, options: ImportOptions, report: (event: ImportEvent) => void = () => {}): Promise<ImportSummary> {
  const { account } = options;
  const started = Date.now();
  const batchMessages = options.batchMessages ?? 100;
  const batchBytes = options.batchBytes ?? 16 * MIB;
  const limit = new InFlightLimit(options.inFlightBytes ?? 64 * MIB, options.uploads ?? 8);

  // ---- plan: which folders, which messages, how many bytes -------------------------------
  const mailboxes = await target.mailStore.listMailboxes(account);
  const specialUses = new Map(mailboxes.flatMap((m) => (m.specialUse ? [[m.specialUse, m.name] as const] : [])));
  const plans = planFolders(await source.folders(), options.rules, specialUses);
  const skippedFolders = plans.flatMap((p) => (p.kind === 'skip' ? [{ name: p.name, reason: p.reason }] : []));
  const work: FolderWork[] = [];
  for (const plan of plans) {
    if (plan.kind !== 'copy') continue;
    const checkpoint = await target.progress.get(account, source.id, plan.name);
    const folder = await source.open(plan.source);
    try {
      work.push(await planFolder(plan, folder, checkpoint, target, account));
    } finally {
      await folder.close();
    }
  }
  const totalMessages = work.reduce((n, w) => n + w.todo.length, 0);
  const totalBytes = work.reduce((n, w) => n + w.todo.reduce((b, m) => b + m.size, 0), 0);
  report({
    kind: 'planned',
    folders: work.map((w) => ({ name: w.plan.name, target: w.plan.target, messages: w.todo.length, bytes: w.todo.reduce((b, m) => b + m.size, 0), matched: w.checkpoint !== null && w.checkpoint.uidValidity !== w.uidValidity })),
    skipped: skippedFolders,
    messages: totalMessages,
    bytes: totalBytes,
  });

  // RFC 9208 §4.3 in spirit: refuse before copying anything rather than stop half-way.
  const usage = await target.quotaUsage(account);
  if (!fitsInQuota(usage, totalBytes)) {
    throw new QuotaExceededError(
      `${totalBytes} bytes to import but ${account} has ${Math.max(0, usage!.quotaBytes - usage!.usedBytes)} of its ${usage!.quotaBytes}-byte quota left; raise it with 'mailctl account quota'`,
    );
  }

  // ---- copy ------------------------------------------------------------------------------
  // Filing into one mailbox is sequential in the store (UIDs are taken one at a time), so
  // folders are copied side by side, each on its own source connection.
  const summaries: Array<FolderSummary | undefined> = work.map(() => undefined);
  const failures: MessageFailure[] = [];
  let incomplete = false;
  let next = 0;
  const worker = async (from: MessageSource) => {
    while (next < work.length && !incomplete && !options.signal?.aborted) {
      const i = next++;
      const w = work[i]!;
      const summary: FolderSummary = { name: w.plan.name, target: w.plan.target, copied: 0, skipped: w.matchedPresent, failed: 0, bytes: 0 };
      summaries[i] = summary;
      report({ kind: 'folder-start', name: w.plan.name, target: w.plan.target });
      try {
        await copyFolder(from, target, w, summary, failures, { account, batchMessages, batchBytes, limit, signal: options.signal, report });
      } catch (err) {
        summary.error = describe(err);
        // A source that failed mid-folder (a dropped connection) is not asked for more in this run.
        incomplete = true;
      }
      report({ kind: 'folder-done', folder: summary });
    }
  };
  const workers = Math.max(1, Math.min(options.parallelFolders ?? 3, work.length));
  const forks: MessageSource[] = [];
  try {
    for (let i = 1; i < workers; i++) if (source.fork) forks.push(await source.fork());
    await Promise.all([source, ...forks].map(worker));
  } finally {
    for (const fork of forks) await fork.close().catch(() => undefined);
  }
  if (options.signal?.aborted) incomplete = true;

  const seconds = (Date.now() - started) / 1000;
  const done = summaries.filter((s): s is FolderSummary => s !== undefined);
  const copied = done.reduce((n, s) => n + s.copied, 0);
  const bytes = done.reduce((n, s) => n + s.bytes, 0);
  return {
    folders: done,
    skippedFolders,
    copied,
    skipped: done.reduce((n, s) => n + s.skipped, 0),
    failed: done.reduce((n, s) => n + s.failed, 0),
    failures,
    bytes,
    seconds,
    messagesPerSecond: seconds > 0 ? copied / seconds : 0,
    megabytesPerSecond: seconds > 0 ? bytes / MIB / seconds : 0,
    incomplete: incomplete || done.length < work.length,
  };
}

/**
 * What to ask for: with the same UIDVALIDITY, the UIDs above the checkpoint and those that
 * failed before; after a change (RFC 3501 §2.3.1.1), every message whose Message-ID, size and
 * date match none already in our mailbox.
 */
async function planFolder(plan: Extract<FolderPlan, { kind: 'copy' }>, folder: OpenFolder, checkpoint: FolderCheckpoint | null, target: ImportTarget, account: string): Promise<FolderWork> {
  if (checkpoint === null || checkpoint.uidValidity === folder.uidValidity) {
    const todo = await folder.sizes(checkpoint?.lastUid ?? 0, checkpoint?.failedUids ?? []);
    return { plan, uidValidity: folder.uidValidity, checkpoint, todo, matchedPresent: 0, highestUid: 0 };
  }
  const fingerprints = await folder.fingerprints();
  const present = new Map<string, number>();
  const existing = await target.mailStore.listMessages(account, plan.target).catch((err) => {
    if (err instanceof StoreError && err.code === 'not-found') return [];
    throw err;
  });
  for (const m of existing) {
    const key = fingerprintKey(m.index.envelope.messageId, m.size, m.internalDate);
    present.set(key, (present.get(key) ?? 0) + 1);
  }
  const todo: MessageFingerprint[] = [];
  let matchedPresent = 0;
  for (const f of fingerprints) {
    const key = fingerprintKey(f.messageId, f.size, f.internalDate);
    const left = present.get(key) ?? 0;
    if (left > 0) {
      present.set(key, left - 1);
      matchedPresent++;
    } else todo.push(f);
  }
  return { plan, uidValidity: folder.uidValidity, checkpoint, todo, matchedPresent, highestUid: Math.max(0, ...fingerprints.map((f) => f.uid)) };
}

async function ensureMailbox(target: ImportTarget, account: string, name: string, specialUse: SpecialUse | null): Promise<void> {
  const mailboxes = await target.mailStore.listMailboxes(account);
  if (mailboxes.some((m) => m.name === name)) return;
  try {
    await target.mailStore.createMailbox(account, name, specialUse);
  } catch (err) {
    if (!(err instanceof StoreError && err.code === 'exists')) throw err;
  }
}

interface CopyContext {
  readonly account: string;
  readonly batchMessages: number;
  readonly batchBytes: number;
  readonly limit: InFlightLimit;
  readonly signal: AbortSignal | undefined;
  readonly report: (event: ImportEvent) => void;
}

/** Consecutive runs of at most `count` messages and `bytes` bytes (a larger message goes alone). */
function* batches(todo: readonly MessageSize[], count: number, bytes: number): Generator<MessageSize[]> {
  let batch: MessageSize[] = [];
  let size = 0;
  for (const m of todo) {
    if (batch.length > 0 && (batch.length >= count || size + m.size > bytes)) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(m);
    size += m.size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Fetches the folder's messages in batches and files them. Uploads run in parallel (bounded by
 * bytes and slots); filing follows in UID order, so our UIDs keep the source's order. The
 * checkpoint moves after each batch to the highest UID below which everything was handled.
 */
async function copyFolder(source: MessageSource, target: ImportTarget, w: FolderWork, summary: FolderSummary, failures: MessageFailure[], ctx: CopyContext): Promise<void> {
  const { account } = ctx;
  const matching = w.checkpoint !== null && w.checkpoint.uidValidity !== w.uidValidity;
  // UIDs that failed before and are gone from the source now are dropped: nothing left to retry.
  const asked = new Set(w.todo.map((m) => m.uid));
  const failed = new Set(matching ? [] : (w.checkpoint?.failedUids ?? []).filter((uid) => asked.has(uid)));
  const handled = new Set<number>();
  let position = 0;
  let lastUid = matching ? 0 : (w.checkpoint?.lastUid ?? 0);
  const saveCheckpoint = async () => {
    while (position < w.todo.length && handled.has(w.todo[position]!.uid)) lastUid = Math.max(lastUid, w.todo[position++]!.uid);
    // While matching, the old checkpoint stands until the folder is done: a rerun matches again.
    if (matching) return;
    await target.progress.put(account, source.id, w.plan.name, { uidValidity: w.uidValidity, lastUid, failedUids: [...failed].sort((a, b) => a - b) });
  };
  const fail = (uid: number, reason: string) => {
    failed.add(uid);
    handled.add(uid);
    summary.failed++;
    failures.push({ folder: w.plan.name, uid, reason });
    ctx.report({ kind: 'message', folder: w.plan.name, outcome: 'failed', bytes: 0 });
  };

  if (w.todo.length > 0) await ensureMailbox(target, account, w.plan.target, w.plan.specialUse);
  const folder = await source.open(w.plan.source);
  let filing: Promise<void> = Promise.resolve();
  try {
    if (folder.uidValidity !== w.uidValidity) throw new Error(`UIDVALIDITY of ${w.plan.name} changed during the import; run it again`);
    /** Fetches `uids` and files what comes back (in order, after the uploads); `returned` collects the UIDs the source sent. */
    const fetchAndFile = async (uids: number[], returned: Set<number>) => {
      try {
        for await (const message of folder.fetch(uids)) {
          returned.add(message.uid);
          await ctx.limit.acquire(message.raw.length);
          const stored = storeBlob(target, account, source.id, w, message).finally(() => ctx.limit.release(message.raw.length));
          stored.catch(() => undefined);
          filing = filing.then(async () => {
            try {
              const request = await stored;
              const result = await target.mailStore.fileMessage(request);
              failed.delete(message.uid);
              handled.add(message.uid);
              if (result.duplicate) summary.skipped++;
              else {
                summary.copied++;
                summary.bytes += request.size;
              }
              ctx.report({ kind: 'message', folder: w.plan.name, outcome: result.duplicate ? 'skipped' : 'copied', bytes: request.size });
            } catch (err) {
              fail(message.uid, `could not be filed: ${describe(err)}`);
            }
          });
          if (ctx.signal?.aborted) break;
        }
      } finally {
        // Whatever was fetched is filed and counted before the checkpoint moves or the error shows.
        await filing;
      }
    };
    const refused = (err: unknown) => err instanceof SourceError && err.refused;
    for (const batch of batches(w.todo, ctx.batchMessages, ctx.batchBytes)) {
      if (ctx.signal?.aborted) break;
      const returned = new Set<number>();
      try {
        await fetchAndFile(batch.map((m) => m.uid), returned);
      } catch (err) {
        if (!refused(err)) throw err;
        // A NO to the batch's FETCH (RFC 3501 §7.1.2), as a server gives for a message it cannot
        // read: each message left is asked for alone, so that one is reported and the rest copied.
        for (const m of batch) {
          if (returned.has(m.uid) || ctx.signal?.aborted) continue;
          try {
            await fetchAndFile([m.uid], returned);
          } catch (single) {
            if (!refused(single)) throw single;
            fail(m.uid, `the source refused it: ${describe(single)}`);
          }
        }
      }
      if (ctx.signal?.aborted) break;
      for (const m of batch) if (!returned.has(m.uid) && !handled.has(m.uid)) fail(m.uid, 'the source did not return it (deleted meanwhile, or refused)');
      await saveCheckpoint();
    }
    if (matching && !ctx.signal?.aborted) {
      await target.progress.put(account, source.id, w.plan.name, {
        uidValidity: w.uidValidity,
        lastUid: w.highestUid,
        failedUids: [...failed].sort((a, b) => a - b),
      });
    }
  } finally {
    await filing;
    await saveCheckpoint().catch(() => undefined);
    await folder.close().catch(() => undefined);
  }
}

/**
 * The blob under a key derived from the message's identity at the source and its bytes: a rerun
 * after a crash writes the same bytes to the same key instead of leaving an unreferenced copy,
 * and different bytes can never overwrite a blob a filed message already points at. The
 * delivery key is the identity alone, so the store files each source message once.
 */
async function storeBlob(target: ImportTarget, account: string, sourceId: string, w: FolderWork, message: SourceMessage): Promise<FileRequest> {
  const identity = createHash('sha256').update([account, sourceId, w.plan.name, w.uidValidity, String(message.uid)].join('\0')).digest('hex').slice(0, 40);
  const content = createHash('sha256').update(message.raw).digest('hex').slice(0, 24);
  const blobKey = rawBlobKey(`import-${identity}-${content}`, message.internalDate);
  await target.blobs.put(blobKey, message.raw);
  return {
    account,
    mailbox: w.plan.target,
    deliveryKey: `import:${identity}`,
    blobKey,
    size: message.raw.length,
    internalDate: message.internalDate.toISOString(),
    flags: [...message.flags],
    index: indexMessage(message.raw),
  };
}
