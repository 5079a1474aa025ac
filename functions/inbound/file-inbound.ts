// Files inbound messages (validated queue events) into the INBOX (or, judged junk, the Junk) of
// every local mailbox they are addressed to: resolve the recipients of a whole batch at once, read
// and index each blob once, file every copy of the batch in one store call (so copies for one
// mailbox share their round trips).
import type { InboundEvent, OutboundEvent } from '../../core/contracts.ts';
import { InvalidEventError } from '../../core/contracts.ts';
import { addressKey, parseAddress } from '../../core/addresses.ts';
import type { MessageIndex } from '../../core/mime/types.ts';
import { describeError } from '../../core/errors.ts';
import { enqueueOutbound, outboundIdFor, type OutboundEnqueuer } from '../../core/outbound/enqueue.ts';
import { isSrsLocalPart, type SenderRewriting } from '../../core/srs.ts';
import type { FunctionLogger } from '../queue-record.ts';
import { StoreError, type Directory, type FileRequest, type FileResult, type MailStore, type RecipientRoute } from '../../core/store/types.ts';
import { copyDestination, judgeFor, type CopyDestination, type JunkFiling, type JunkMetric } from './junk-filing.ts';

/** The metrics this function emits (CloudWatch EMF through Powertools in the handler). */
export type InboundMetric =
  | 'MessagesFiled'
  | 'MessagesQuarantined'
  | 'DuplicateDeliveries'
  | 'InvalidEvents'
  | 'RemoteRecipientsQueued'
  | 'UnauthenticatedRelayRefused'
  | 'UnknownRecipients'
  | 'FailedEvents'
  | JunkMetric;

/** The slice of Powertools' Metrics used here. */
export interface InboundMetrics {
  addMetric(name: InboundMetric, unit: 'Count', value: number): unknown;
}

export interface InboundDeps {
  readonly directory: Pick<Directory, 'resolveRecipients'>;
  /** Filing, which also finds the account's Junk for a junk copy (FileRequest.specialUse). */
  readonly store: Pick<MailStore, 'fileMessages'>;
  /** The configured raw-message bucket and a whole-object read of it. */
  readonly blobs: { readonly bucket: string; getBuffer(key: string): Promise<Buffer> };
  readonly indexMessage: (raw: Buffer) => MessageIndex | Promise<MessageIndex>;
  readonly logger: FunctionLogger;
  readonly metrics: InboundMetrics;
  /** The outbound queue and its records (core/outbound/enqueue.ts), for remote recipients. */
  readonly outbound: OutboundEnqueuer;
  /** The clock of firstAttemptAt; tests pin it. */
  readonly now?: () => Date;
  /**
   * Sender rewriting (core/srs.ts): forwards of outside mail leave with an SRS envelope sender
   * of the forwarding domain, and mail to a valid SRS address of ours goes back to the sender it
   * stands for. Without it forwards keep the original sender.
   */
  readonly srs?: SenderRewriting;
  /** The junk filter and the quarantine rule (functions/inbound/junk-filing.ts): what they call junk goes to the account's Junk. */
  readonly junk: JunkFiling;
}

export interface FiledCopy {
  readonly account: string;
  readonly mailboxId: string;
  readonly uid: number;
  readonly duplicate: boolean;
}

export interface InboundOutcome {
  readonly filed: FiledCopy[];
  /** Recipients with no local destination at filing time (removed after RCPT). */
  readonly unknown: string[];
  /** Recipients on other domains, by destination domain: the relay's work. */
  readonly remote: Map<string, string[]>;
}

/** Where each envelope recipient goes, with local destinations deduplicated to final mailboxes. */
interface DeliveryPlan {
  /** Final accounts in key form; two recipients reaching one account file once. */
  readonly accounts: string[];
  readonly unknown: string[];
  readonly remote: Map<string, string[]>;
  /**
   * The addresses in `remote` that came from alias forwards or SRS reverse paths (relayed whoever
   * sent the message), each with the local address it was forwarded through (the alias, or the SRS
   * address): its domain signs the SRS sender, and the relay may send the forward as that address.
   */
  readonly forwards: Map<string, string>;
}

/**
 * Blobs read and indexed at once. Each holds its whole blob in memory while it is indexed (up to
 * maxMessageBytes), so a batch of 10 is not let loose all together; only the index is kept after.
 */
const INDEX_CONCURRENCY = 4;

function planDelivery(event: InboundEvent, routeOf: ReadonlyMap<string, RecipientRoute>, srs: SenderRewriting | undefined): DeliveryPlan {
  const accounts = new Map<string, string>();
  const unknown: string[] = [];
  const remote = new Map<string, string[]>();
  const forwards = new Map<string, string>();
  const addRemote = (domain: string, address: string) => {
    const list = remote.get(domain) ?? [];
    if (!list.includes(address)) list.push(address);
    remote.set(domain, list);
  };
  for (const rcpt of event.rcptTo) {
    const route = routeOf.get(rcpt)!;
    const parsed = parseAddress(rcpt);
    if (srs && parsed && route.kind !== 'remote' && isSrsLocalPart(parsed.local)) {
      // A bounce (or reply) to a forward's SRS sender: back to the sender it stands for. The edge
      // verified it at RCPT; one that fails here (expired in the queue, forged past the edge) is dropped.
      const back = srs.reverse(parsed.local);
      if (back.kind === 'original') {
        addRemote(parseAddress(back.address)?.domain ?? '(unparseable)', back.address);
        forwards.set(back.address, rcpt);
      } else unknown.push(rcpt);
      continue;
    }
    switch (route.kind) {
      case 'local':
        for (const account of route.accounts) {
          const key = addressKey(account) ?? account.toLowerCase();
          if (!accounts.has(key)) accounts.set(key, account);
        }
        // An alias pointing off-site: the forward is the relay's work, like a remote RCPT.
        for (const forward of route.forwards ?? []) {
          addRemote(parseAddress(forward)?.domain ?? '(unparseable)', forward);
          if (!forwards.has(forward)) forwards.set(forward, rcpt);
        }
        break;
      case 'unknown-local':
        unknown.push(rcpt);
        break;
      case 'remote':
        addRemote(route.domain, rcpt);
        break;
    }
  }
  return { accounts: [...accounts.values()], unknown, remote, forwards };
}

/**
 * The delivery plans of several events, with one resolveRecipients call for all their distinct
 * recipients. A lookup failure fails every event (each is retried).
 */
async function planDeliveries(events: readonly InboundEvent[], directory: InboundDeps['directory'], srs: SenderRewriting | undefined): Promise<DeliveryPlan[]> {
  const distinct = [...new Set(events.flatMap((e) => e.rcptTo))];
  const routes = await directory.resolveRecipients(distinct);
  const routeOf = new Map(distinct.map((address, i) => [address, routes[i]!]));
  return events.map((event) => planDelivery(event, routeOf, srs));
}

/** Runs `task` over `items` with at most `limit` at once; settles per item, in order. */
async function settleEach<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const results: Array<PromiseSettledResult<R>> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await task(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Files `event` into INBOX of every local mailbox it reaches (fileInboundBatch of one); throws
 * when the event must be retried.
 */
export async function fileInbound(event: InboundEvent, deps: InboundDeps): Promise<InboundOutcome> {
  const [result] = await fileInboundBatch([event], deps);
  if (result!.status === 'rejected') throw result!.reason;
  return result!.value;
}

/**
 * Files each event into INBOX of every local mailbox it reaches. Idempotent per (inbound id,
 * mailbox) through the store's delivery key, so SQS redelivery (at-least-once in) never
 * duplicates (docs/ARCHITECTURE.md, invariant 2). Settles per event, in order: rejected when any
 * copy could not be filed for a transient reason (the caller reports the record as failed and SQS
 * retries it, and the copies already filed come back as duplicates).
 */
export async function fileInboundBatch(events: readonly InboundEvent[], deps: InboundDeps): Promise<Array<PromiseSettledResult<InboundOutcome>>> {
  const { logger, metrics } = deps;
  const results: Array<PromiseSettledResult<InboundOutcome>> = new Array(events.length);
  // An event naming another bucket than this function's own is a producer bug (or forged) and
  // belongs in the DLQ, not in an S3 call.
  const valid: number[] = [];
  events.forEach((event, i) => {
    if (event.bucket === deps.blobs.bucket) valid.push(i);
    else results[i] = { status: 'rejected', reason: new InvalidEventError(`event names bucket ${event.bucket}, expected ${deps.blobs.bucket}`) };
  });
  let plans: DeliveryPlan[];
  try {
    plans = await planDeliveries(valid.map((i) => events[i]!), deps.directory, deps.srs);
  } catch (err) {
    for (const i of valid) results[i] = { status: 'rejected', reason: err };
    return results;
  }

  // One GET and one parse per message; the index is stored on every copy.
  const indexed = await settleEach(valid, INDEX_CONCURRENCY, async (i) => {
    const event = events[i]!;
    if (plans[valid.indexOf(i)]!.accounts.length === 0) return null;
    const raw = await deps.blobs.getBuffer(event.key);
    if (raw.length !== event.size) {
      logger.warn('blob size differs from the event', { inboundId: event.id, eventSize: event.size, blobSize: raw.length });
    }
    return { size: raw.length, index: await deps.indexMessage(raw), judge: judgeFor(deps.junk, raw, event) };
  });

  // Where each copy goes: INBOX, or the account's Junk when the quarantine or the filter says so.
  const destinations = await Promise.all(
    valid.map(async (i, v) => {
      const message = indexed[v]!;
      if (message.status !== 'fulfilled' || message.value === null) return [];
      const { judge } = message.value;
      return Promise.all(plans[v]!.accounts.map((account) => copyDestination(deps.junk, judge, events[i]!, account, deps)));
    }),
  );

  // Every copy of the batch in one call: the store shares the round trips of one mailbox.
  const requests: FileRequest[] = [];
  const copiesOf = valid.map(() => ({ from: 0, count: 0 }));
  valid.forEach((i, v) => {
    const event = events[i]!;
    const message = indexed[v]!;
    copiesOf[v] = { from: requests.length, count: 0 };
    if (message.status !== 'fulfilled' || message.value === null) return;
    plans[v]!.accounts.forEach((account, c) => {
      const destination: CopyDestination = destinations[v]![c]!;
      const headerPrefix = destination.headerPrefix;
      requests.push({
        account,
        mailbox: destination.mailbox,
        ...(destination.specialUse ? { specialUse: destination.specialUse } : {}),
        deliveryKey: event.id,
        blobKey: event.key,
        // A junk copy is served with its own header lines before the blob (core/header-prefix.ts).
        size: message.value!.size + (headerPrefix ? Buffer.byteLength(headerPrefix, 'latin1') : 0),
        internalDate: event.receivedAt,
        flags: [...destination.flags],
        index: message.value!.index,
        ...(headerPrefix ? { headerPrefix } : {}),
      });
      copiesOf[v]!.count++;
    });
  });
  const fileAll = async (batch: FileRequest[]): Promise<Array<PromiseSettledResult<FileResult>>> => {
    try {
      return batch.length > 0 ? await deps.store.fileMessages(batch) : [];
    } catch (err) {
      return batch.map(() => ({ status: 'rejected', reason: err }));
    }
  };
  const filing = await fileAll(requests);
  // Junk deleted after its claim was read: those copies go to INBOX, marked, rather than nowhere.
  const refile = requests.flatMap((request, k) => {
    const result = filing[k]!;
    const gone = request.specialUse && result.status === 'rejected' && result.reason instanceof StoreError && result.reason.code === 'not-found';
    return gone ? [k] : [];
  });
  if (refile.length > 0) {
    const again = await fileAll(refile.map((k) => {
      const { specialUse: _gone, ...intoInbox } = requests[k]!;
      return intoInbox;
    }));
    refile.forEach((k, j) => (filing[k] = again[j]!));
  }

  await Promise.all(
    valid.map(async (i, v) => {
      const event = events[i]!;
      const plan = plans[v]!;
      const message = indexed[v]!;
      if (message.status === 'rejected') return void (results[i] = { status: 'rejected', reason: message.reason });
      const unknown = [...plan.unknown];
      const filed: FiledCopy[] = [];
      const failures: unknown[] = [];
      const { from, count } = copiesOf[v]!;
      for (let c = 0; c < count; c++) {
        const account = plan.accounts[c]!;
        const result = filing[from + c]!;
        if (result.status === 'fulfilled') {
          const copy = { account, ...result.value };
          filed.push(copy);
          metrics.addMetric(copy.duplicate ? 'DuplicateDeliveries' : 'MessagesFiled', 'Count', 1);
          if (!copy.duplicate && event.authentication?.quarantine) metrics.addMetric('MessagesQuarantined', 'Count', 1);
          logger.info(copy.duplicate ? 'already filed (redelivery)' : 'filed', {
            inboundId: event.id, account, mailboxId: copy.mailboxId, uid: copy.uid,
          });
        } else if (result.reason instanceof StoreError && result.reason.code === 'not-found') {
          // The account (or its INBOX) went away between RCPT and filing: retrying cannot
          // help, and the edge already answered 250, so record it instead of looping.
          unknown.push(account);
        } else {
          failures.push(result.reason);
          logger.error('filing failed; the event will be retried', { inboundId: event.id, account, error: describeError(result.reason) });
        }
      }
      for (const rcpt of unknown) {
        metrics.addMetric('UnknownRecipients', 'Count', 1);
        logger.warn('no local mailbox for recipient at filing time; not delivered', { inboundId: event.id, recipient: rcpt });
      }
      try {
        await routeRemote(event, plan.remote, plan.forwards, deps);
      } catch (err) {
        failures.push(err);
        logger.error('queuing remote recipients failed; the event will be retried', { inboundId: event.id, error: describeError(err) });
      }
      results[i] =
        failures.length > 0
          ? { status: 'rejected', reason: new AggregateError(failures, `${failures.length} steps of ${event.id} failed (filing ${plan.accounts.length} copies, queuing remote)`) }
          : { status: 'fulfilled', value: { filed, unknown, remote: plan.remote } };
    }),
  );
  return results;
}

/**
 * The envelope sender of a forward: SRS through the forwarding domain (core/srs.ts), so the next
 * hop's SPF check (RFC 7208) and SES's verified-identity rule both judge our domain, and bounces
 * come back through us. Submitted mail, the null reverse-path of a bounce (RFC 5321 §4.5.5) and
 * everything without rewriting configured keep theirs.
 */
function forwardSender(event: InboundEvent, via: string | undefined, srs: SenderRewriting | undefined): string {
  const viaDomain = via ? parseAddress(via)?.domain : undefined;
  if (!srs || !viaDomain || event.authenticatedUser || event.mailFrom === '') return event.mailFrom;
  return srs.forward(event.mailFrom, viaDomain);
}

/**
 * Recipients on other domains become one outbound event per destination domain (the relay's
 * work), queued once per (inbound id, domain) through the outbound record (core/outbound/enqueue.ts), so
 * a redelivered inbound record does not queue twice. Invariant 5 (no open relay) is re-checked
 * here: only a message from an authenticated session, or an alias forward, leaves; any other
 * remote recipient means the edge let it through, which is a bug: logged and counted, not sent.
 */
export async function routeRemote(
  event: InboundEvent,
  remote: ReadonlyMap<string, string[]>,
  forwards: ReadonlyMap<string, string>,
  deps: Pick<InboundDeps, 'logger' | 'metrics' | 'outbound' | 'now' | 'srs'>,
): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  for (const [domain, all] of remote) {
    const recipients = event.authenticatedUser ? all : all.filter((r) => forwards.has(r));
    const refused = all.length - recipients.length;
    if (refused > 0) {
      deps.metrics.addMetric('UnauthenticatedRelayRefused', 'Count', refused);
      deps.logger.error('REMOTE RECIPIENT WITHOUT AUTHENTICATION: not relayed (the edge should have refused it)', {
        inboundId: event.id, recipientDomain: domain, recipients: refused,
      });
    }
    if (recipients.length === 0) continue;
    const outbound: OutboundEvent = {
      version: 1,
      id: outboundIdFor(event.id, domain),
      inboundId: event.id,
      bucket: event.bucket,
      key: event.key,
      mailFrom: forwardSender(event, forwards.get(recipients[0]!), deps.srs),
      domain,
      recipients,
      firstAttemptAt: now.toISOString(),
      attempts: [],
      sequence: 0,
      authenticatedUser: event.authenticatedUser,
      ...(!event.authenticatedUser && forwards.has(recipients[0]!) ? { forwardedBy: forwards.get(recipients[0]!)! } : {}),
    };
    const queuedNow = await enqueueOutbound(outbound, deps.outbound);
    deps.metrics.addMetric('RemoteRecipientsQueued', 'Count', queuedNow ? recipients.length : 0);
    deps.logger.info(queuedNow ? 'queued for relay' : 'already queued for relay (redelivery)', {
      inboundId: event.id, outboundId: outbound.id, recipientDomain: domain, recipients: recipients.length,
      authenticatedUser: event.authenticatedUser,
    });
  }
}
