// Filing a message into a mailbox: invariants 2 (exactly once per delivery key and mailbox) and 3
// (UIDs ascending, never reused, never visible out of order) of docs/ARCHITECTURE.md, by the
// protocol of docs/decisions/0003-uid-protocol.md with batches (0019) and delivery claims (0024).
import { randomUUID } from 'node:crypto';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KeyedSerialiser } from './keyed-serialiser.ts';
import { isConditionFailure } from './dynamo.ts';
import type { DynamoBlobReferences } from './blob-refs.ts';
import { claimAttribute, DeliveryClaims, type DeliveryClaim } from './delivery-claims.ts';
import type { DynamoUsageCounters } from './usage.ts';
import type { DynamoMailboxes, FilingTarget } from './mailboxes.ts';
import type { MailboxCounters } from './mailbox-counters.ts';
import { encodeIndex, getItem, nowSeconds, TOMBSTONE_SECONDS, type Item, type Tables } from './records.ts';
import type { MessageIndex } from '../mime/types.ts';
import { StoreError, type FileRequest, type FileResult } from './types.ts';

/** A writer that keeps losing the UID race this often is facing something other than contention. */
const MAX_FILE_ATTEMPTS = 1000;
/** Steps of resolving someone else's claim (each a read or a conditional write) before giving up for a redelivery. */
const MAX_CLAIM_STEPS = 16;

/** Test hooks that stop a writer at the points the concurrency tests need. */
export interface FilingHooks {
  /** After UIDs are reserved for a round of messages, before anything of theirs is written. */
  readonly afterReserve?: (uids: readonly number[]) => Promise<void> | void;
  /** After the delivery's claim points at `uid`, before the message item is put there. */
  readonly beforeMessagePut?: (uid: number) => Promise<void> | void;
  /** After the message item is written at `uid`, before uidNext advances past it. */
  readonly afterMessagePut?: (uid: number) => Promise<void> | void;
}

/** One message of a filing call on its way into the mailbox. */
interface Filing {
  /** Its place in the caller's list. */
  readonly at: number;
  readonly request: FileRequest;
  /** The attribute of the blob's reference item holding this delivery's claim; null when no claim is kept (a fresh key). */
  readonly claim: string | null;
  /** The message item without uid and modseq: the MIME index encoded once, whatever the rounds. */
  readonly body: Item;
  /** The UID this writer's claim points at (set or taken over by it); null before it has one. */
  claimedUid: number | null;
  /**
   * Whether this writer counted the message's blob reference and usage, and keeps them: it made
   * the claim (or may have: a write whose answer was lost counts high), or, without a claim, it
   * counted the reference itself ('bare', given back unless a message may have landed).
   */
  counted: 'no' | 'claim' | 'bare' | 'unknown';
  /** Whether a put of this writer may have left a message: the bare reference is then kept. */
  landed: boolean;
  /** Why the bare reference could not be counted. */
  countError?: unknown;
}

/** What claiming the reserved UID for a message found. */
type ClaimOutcome =
  /** The claim points at the reserved UID: put the message there. */
  | { readonly kind: 'put' }
  /** The delivery is filed already, at `uid`. */
  | { readonly kind: 'duplicate'; readonly uid: number }
  | { readonly kind: 'failed'; readonly error: unknown };

/** What the round knows of one reserved UID after its put (or its absence). */
type SlotOutcome =
  /** Ours (also when the SDK retried a put whose answer was lost). */
  | 'written'
  /** Another writer of the same delivery got there: the delivery is at this UID. */
  | 'duplicate'
  /** Someone else's message or a tombstone: this message tries again at a later UID. */
  | 'lost'
  /** Taken, by whom is unknown (the read failed): this message fails, the UID is occupied. */
  | 'occupied'
  /** Nothing of ours was put here (a duplicate found by its claim, a failure before the put). */
  | 'vacant'
  /** Nothing is known to be at the UID: uidNext may not pass it. */
  | 'unresolved';

const fulfilled = (value: FileResult): PromiseSettledResult<FileResult> => ({ status: 'fulfilled', value });
const rejected = (reason: unknown): PromiseSettledResult<FileResult> => ({ status: 'rejected', reason });

export class DynamoFiling {
  /**
   * Filing into one mailbox is serialised within this process: concurrent writers of one
   * process would otherwise all reserve the same UID and all but one retry, which multiplied
   * the DynamoDB requests per message (bench/ingest.ts: from ~9 to ~30 with 4 records at once).
   */
  private readonly filingQueue = new KeyedSerialiser();
  private readonly claims: DeliveryClaims;

  // The same collaborators as DynamoMessages (core/store/messages.ts), on purpose: filing and
  // changing filed messages both move the mailbox counters, usage and blob references.
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: Tables,
    private readonly mailboxes: DynamoMailboxes,
    private readonly counters: MailboxCounters,
    private readonly blobRefs: DynamoBlobReferences,
    private readonly usage: DynamoUsageCounters,
    private readonly hooks: FilingHooks = {},
  ) {
    this.claims = new DeliveryClaims(doc, tables);
  }

  async fileMessage(request: FileRequest): Promise<FileResult> {
    const [result] = await this.fileMessages([request]);
    if (result!.status === 'rejected') throw result!.reason;
    return result!.value;
  }

  /**
   * Files several messages, each as fileMessage would (invariants 2 and 3), with round trips shared
   * (docs/decisions/0019-batch-uid-allocation.md): one read of the INBOX claims for the whole call;
   * per mailbox one usage update, one reservation of consecutive UIDs, the claims and the puts in
   * parallel, one advance of uidNext. Settles per message, in order.
   */
  async fileMessages(requests: readonly FileRequest[]): Promise<Array<PromiseSettledResult<FileResult>>> {
    const results: Array<PromiseSettledResult<FileResult>> = new Array(requests.length);
    const groups = new Map<string, number[]>();
    requests.forEach((request, at) => {
      const key = `${request.account}\u0000${request.specialUse ?? ''}\u0000${request.mailbox}`;
      groups.set(key, [...(groups.get(key) ?? []), at]);
    });
    const entries = [...groups.values()].map((ats) => ({ ats, group: ats.map((at) => requests[at]!) }));
    const targets = await this.mailboxes.mailboxesForFiling(entries.map((e) => e.group[0]!));
    // The MIME index is encoded once per message, however many mailboxes it goes to.
    const encodings = new Map<MessageIndex, Item | Error>();
    const encode = (index: MessageIndex): Item => {
      let encoded = encodings.get(index);
      if (!encoded) {
        try {
          encoded = encodeIndex(index);
        } catch (err) {
          encoded = err as Error;
        }
        encodings.set(index, encoded);
      }
      if (encoded instanceof Error) throw encoded;
      return encoded;
    };
    await Promise.all(
      entries.map(async ({ ats, group }, g) => {
        let settled: Array<PromiseSettledResult<FileResult>>;
        try {
          const target = targets[g]!;
          if (target.status === 'rejected') throw target.reason;
          settled = await this.filingQueue.run(target.value.id, () => this.fileGroup(target.value, group, encode));
        } catch (err) {
          settled = group.map(() => rejected(err));
        }
        settled.forEach((result, i) => (results[ats[i]!] = result));
      }),
    );
    return results;
  }

  /** Messages for one mailbox; one delivery key twice in one call files once, the later ones answer as its duplicates. */
  private async fileGroup(
    mailbox: FilingTarget,
    requests: readonly FileRequest[],
    encode: (index: MessageIndex) => Item,
  ): Promise<Array<PromiseSettledResult<FileResult>>> {
    const out: Array<PromiseSettledResult<FileResult> | undefined> = new Array(requests.length);
    const firstAt = new Map<string, number>();
    requests.forEach((r, at) => firstAt.set(r.deliveryKey, firstAt.get(r.deliveryKey) ?? at));
    const unique = [...firstAt.values()].sort((a, b) => a - b);
    await this.fileNew(mailbox, unique.map((at) => ({ at, request: requests[at]! })), out, encode);
    return requests.map((request, at) => {
      const first = firstAt.get(request.deliveryKey)!;
      const result = out[first] ?? rejected(new StoreError('conflict', 'Not filed'));
      if (first === at) return result;
      return result.status === 'fulfilled' ? fulfilled({ ...result.value, duplicate: true }) : result;
    });
  }

  private async fileNew(
    mailbox: FilingTarget,
    items: ReadonlyArray<{ at: number; request: FileRequest }>,
    out: Array<PromiseSettledResult<FileResult> | undefined>,
    encode: (index: MessageIndex) => Item,
  ): Promise<void> {
    const owner = mailbox.account;
    const writer = randomUUID();
    const filings: Filing[] = [];
    for (const { at, request } of items) {
      try {
        filings.push({
          at,
          request,
          claim: request.freshKey ? null : claimAttribute(request.deliveryKey, mailbox.id),
          body: {
            mailboxId: mailbox.id,
            deliveryKey: request.deliveryKey,
            writer,
            blobKey: request.blobKey,
            size: request.size,
            internalDate: request.internalDate,
            flags: [...new Set(request.flags)],
            expunged: false,
            ...encode(request.index),
            ...(request.headerPrefix ? { headerPrefix: request.headerPrefix } : {}),
          },
          claimedUid: null,
          counted: 'no',
          landed: false,
        });
      } catch (err) {
        out[at] = rejected(err);
      }
    }
    // The account's usage is counted before any message exists, and given back at the end for the
    // messages whose reference this writer does not hold (their claim was someone else's, or none
    // was made), so a crash counts high (the quota bites a message early), never low.
    // It goes out with the first reservation (one round trip for both), and is awaited before any claim.
    let usageCounted = false;
    const usageAdded = this.usage.addUsage(owner, filings.reduce((sum, f) => sum + f.request.size, 0)).then(() => void (usageCounted = true));
    usageAdded.catch(() => undefined);
    // A message filed without a claim (a fresh key) counts its blob reference on its own, with the
    // same round trip; a failure to count fails that message alone (claimSlot).
    const bareCounted = Promise.all(filings.filter((f) => f.claim === null).map((f) => this.countBareReference(f)));
    const counted = Promise.all([usageAdded, bareCounted]).then(() => undefined);
    counted.catch(() => undefined);
    try {
      let pending: readonly Filing[] = filings;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_FILE_ATTEMPTS) throw new StoreError('conflict', 'Could not allocate a UID; too much contention');
        pending = await this.fileRound(mailbox, writer, pending, out, counted);
      }
    } catch (err) {
      for (const f of filings) out[f.at] ??= rejected(err);
    } finally {
      await counted.catch(() => undefined);
      await bareCounted;
      // A bare reference whose message surely never landed is given back (0004: counted before the put).
      const bare = filings.filter((f) => f.counted === 'bare' && !f.landed);
      await Promise.all(bare.map((f) => this.blobRefs.releaseBlob(f.request.blobKey).then(() => (f.counted = 'no')).catch(() => undefined)));
      const bytes = filings.filter((f) => f.counted === 'no').reduce((sum, f) => sum + f.request.size, 0);
      if (usageCounted && bytes > 0) await this.usage.addUsage(owner, -bytes).catch(() => undefined);
    }
  }

  /**
   * One round: reserve consecutive UIDs for `pending`, claim each for its delivery (counting the
   * blob reference with a new claim), put the messages at once (each conditional on its UID being
   * free), fill the UIDs left vacant below them, then move uidNext past every UID now known to hold
   * an item. Returns the messages whose UID someone else took, for the next round.
   */
  private async fileRound(
    mailbox: FilingTarget,
    writer: string,
    pending: readonly Filing[],
    out: Array<PromiseSettledResult<FileResult> | undefined>,
    counted: Promise<void>,
  ): Promise<Filing[]> {
    const owner = mailbox.account;
    const [{ uid: first, modSeq: last }] = await Promise.all([this.counters.reserveRange(owner, mailbox.id, pending.length), counted]);
    const slot = (j: number) => ({ uid: first + j, modSeq: last - pending.length + 1 + j });
    await this.hooks.afterReserve?.(pending.map((_, j) => slot(j).uid));
    const claimed = await Promise.all(pending.map((f, j) => this.claimSlot(mailbox, writer, f, slot(j).uid)));
    const outcomes = await Promise.all(
      pending.map(async (f, j): Promise<SlotOutcome> => {
        const claim = claimed[j]!;
        if (claim.kind === 'duplicate') {
          out[f.at] = fulfilled({ mailboxId: mailbox.id, uid: claim.uid, duplicate: true });
          return 'vacant';
        }
        if (claim.kind === 'failed') {
          out[f.at] = rejected(claim.error);
          return 'vacant';
        }
        const { uid, modSeq } = slot(j);
        try {
          await this.hooks.beforeMessagePut?.(uid);
        } catch (err) {
          // As when the writer dies here: the claim stands with nothing at its UID.
          out[f.at] = rejected(err);
          return 'unresolved';
        }
        const outcome = await this.putMessage(mailbox, writer, f, uid, modSeq, out);
        if (outcome === 'written') {
          try {
            await this.hooks.afterMessagePut?.(uid);
          } catch (err) {
            // As when the writer dies here: the message stays hidden, uidNext stops below it.
            out[f.at] = rejected(err);
            return 'unresolved';
          }
        }
        if (outcome === 'written' || outcome === 'duplicate') out[f.at] = fulfilled({ mailboxId: mailbox.id, uid, duplicate: outcome === 'duplicate' });
        return outcome;
      }),
    );
    // A vacant UID below a message put in this round would hide that message until some later
    // writer filled it: fill it now with a tombstone (never shown: it carries no message).
    const lastTried = outcomes.findLastIndex((o) => o !== 'vacant');
    await Promise.all(
      outcomes.map(async (outcome, j) => {
        if (outcome !== 'vacant' || j > lastTried) return;
        outcomes[j] = (await this.vacate(mailbox.id, slot(j).uid, slot(j).modSeq)) instanceof Error ? 'unresolved' : 'lost';
      }),
    );
    // Every UID of the range up to the first unresolved one now holds an item (ours, someone
    // else's, a tombstone): uidNext may pass them all at once (invariant 3).
    let held = 0;
    while (held < pending.length && outcomes[held] !== 'unresolved' && outcomes[held] !== 'vacant') held++;
    if (held > 0) await this.counters.advanceUidNextTo(owner, mailbox.id, first, first + held);
    // A duplicate above uidNext: its writer died before moving uidNext past it, which would keep
    // it hidden until some other message came to this mailbox. Finish that step.
    const stranded = [...new Set(claimed.flatMap((c) => (c.kind === 'duplicate' && c.uid >= first + held ? [c.uid] : [])))].sort((a, b) => a - b);
    for (const uid of stranded) await this.counters.advanceUidNext(owner, mailbox.id, uid);
    return pending.filter((_, j) => outcomes[j] === 'lost' && claimed[j]!.kind === 'put');
  }

  /**
   * Makes this delivery's claim point at `uid` (docs/decisions/0024-sparse-index-and-delivery-claims.md).
   * A new claim counts the blob reference in the same write. A claim that exists already points at
   * the UID an earlier attempt chose: if the delivery's message is there, it is a duplicate; if
   * someone else's item is there, the claim is stale and is moved here; if nothing is there, the
   * earlier writer may still be about to put, so that UID is first filled with a tombstone (the
   * earlier put then fails its condition) and the claim moved. A message of a delivery can land only
   * at the UID its claim points at, and a claim leaves a UID only once that UID is filled, so a
   * delivery lives at most once.
   */
  private async claimSlot(mailbox: FilingTarget, writer: string, f: Filing, uid: number): Promise<ClaimOutcome> {
    const mine: DeliveryClaim = { uid, writer };
    try {
      if (f.claim === null) {
        // No claim kept (a fresh key): the reference alone, counted before the first round.
        if (f.counted !== 'bare') throw f.countError;
        return { kind: 'put' };
      }
      let standing: DeliveryClaim | null;
      if (f.claimedUid === null) {
        f.counted = 'unknown';
        if (await this.claims.create(f.request.blobKey, f.claim, mine)) {
          f.counted = 'claim';
          f.claimedUid = uid;
          return { kind: 'put' };
        }
        f.counted = 'no';
      } else if (await this.claims.move(f.request.blobKey, f.claim, f.claimedUid, mine)) {
        f.claimedUid = uid;
        return { kind: 'put' };
      }
      standing = await this.claims.read(f.request.blobKey, f.claim);
      // Our own first claim, whose answer was lost and whose retry by the SDK found it made.
      if (f.counted === 'no' && f.claimedUid === null && standing?.writer === writer && standing.uid === uid) f.counted = 'claim';
      for (let step = 0; step < MAX_CLAIM_STEPS; step++) {
        if (!standing) throw new StoreError('conflict', 'Delivery claim vanished');
        // Claimed at this very UID (by a writer of the same delivery that reserved it too): whoever
        // puts first files it, the other finds it there.
        if (standing.uid === uid) {
          f.claimedUid = uid;
          return { kind: 'put' };
        }
        const holder = await getItem(this.doc, this.tables.messages, { mailboxId: mailbox.id, uid: standing.uid });
        if (holder && holder.deliveryKey === f.request.deliveryKey && !holder.lostRace) return { kind: 'duplicate', uid: standing.uid };
        // Nothing there: fill it, so no earlier writer can land there any more. If something landed
        // meanwhile (it may be this delivery's message), look again.
        if (!holder) {
          const vacated = await this.vacate(mailbox.id, standing.uid, null);
          if (vacated === 'taken') continue;
          if (vacated instanceof Error) throw vacated;
        }
        if (await this.claims.move(f.request.blobKey, f.claim, standing.uid, mine)) {
          f.claimedUid = uid;
          return { kind: 'put' };
        }
        standing = await this.claims.read(f.request.blobKey, f.claim);
      }
      throw new StoreError('conflict', 'Delivery claimed by concurrent writers; try again');
    } catch (error) {
      return { kind: 'failed', error };
    }
  }

  /** Counts the blob reference of a message filed without a claim; never rejects (the error is kept for claimSlot). */
  private async countBareReference(f: Filing): Promise<void> {
    f.counted = 'unknown';
    try {
      await this.blobRefs.retainBlob(f.request.blobKey);
      f.counted = 'bare';
    } catch (err) {
      f.countError = err;
    }
  }

  /** Puts the message at `uid`, conditional on the UID being free, and says what is there now. */
  private async putMessage(
    mailbox: FilingTarget,
    writer: string,
    f: Filing,
    uid: number,
    modSeq: number,
    out: Array<PromiseSettledResult<FileResult> | undefined>,
  ): Promise<SlotOutcome> {
    f.landed = true;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.messages,
          // `createdModSeq`, not `modSeq`: a new message has no byModSeq entry (core/store/records.ts).
          Item: { ...f.body, uid, createdModSeq: modSeq, createdAt: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(uid)',
        }),
      );
      return 'written';
    } catch (err) {
      if (!isConditionFailure(err)) {
        out[f.at] = rejected(err);
        return 'unresolved';
      }
    }
    // Taken. It may be our own put whose response was lost and retried by the SDK, or a
    // writer of the same delivery that reserved this UID too: either way the delivery is here.
    let holder: Item | null;
    try {
      holder = await getItem(this.doc, this.tables.messages, { mailboxId: mailbox.id, uid });
    } catch (err) {
      out[f.at] = rejected(err);
      return 'occupied';
    }
    if (holder?.writer === writer) return 'written';
    if (holder?.deliveryKey === f.request.deliveryKey && !holder.lostRace) return 'duplicate';
    // Someone else's: nothing of ours landed here.
    f.landed = false;
    return 'lost';
  }

  /**
   * Fills a UID nobody filled with a tombstone that carries no message, so uidNext may pass it and
   * no late put can land there: 'filled' by this tombstone, 'taken' by an item already there, or
   * the error that left it unknown.
   */
  private async vacate(mailboxId: string, uid: number, createdModSeq: number | null): Promise<'filled' | 'taken' | Error> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tables.messages,
          Item: { mailboxId, uid, expunged: true, vacant: true, expiresAt: nowSeconds() + TOMBSTONE_SECONDS, ...(createdModSeq === null ? {} : { createdModSeq }) },
          ConditionExpression: 'attribute_not_exists(uid)',
        }),
      );
      return 'filled';
    } catch (err) {
      if (isConditionFailure(err)) return 'taken';
      return err instanceof Error ? err : new Error(String(err));
    }
  }
}
