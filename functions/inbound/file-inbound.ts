// Files one inbound message (a validated queue event) into the INBOX (or, judged junk, the Junk)
// of every local mailbox it is addressed to: resolve recipients, read and index the blob once,
// file idempotently.
import type { InboundEvent, OutboundEvent } from '../../core/contracts.ts';
import { InvalidEventError } from '../../core/contracts.ts';
import { addressKey, parseAddress } from '../../core/addresses.ts';
import type { MessageIndex } from '../../core/mime/types.ts';
import { describeError } from '../../core/errors.ts';
import { enqueueOutbound, outboundIdFor, type OutboundEnqueuer } from '../../core/outbound.ts';
import { isSrsLocalPart, type SenderRewriting } from '../../core/srs.ts';
import type { FunctionLogger } from '../queue-record.ts';
import { StoreError, type Directory, type MailStore, type RecipientRoute } from '../../core/store/types.ts';
import { copyDestination, judgeFor, type JunkFiling, type JunkMetric } from './junk-filing.ts';
import { findSpecialUseMailbox } from '../../core/store/special-use.ts';
import { JUNK_KEYWORD } from '../../core/junk/filter.ts';

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
  readonly directory: Pick<Directory, 'resolveRecipient'>;
  /** Filing; with the mailbox reads, quarantined mail finds the account's Junk (core/store/special-use.ts). */
  readonly store: Pick<MailStore, 'fileMessage'> & Partial<Pick<MailStore, 'listMailboxes'>>;
  /** The configured raw-message bucket and a whole-object read of it. */
  readonly blobs: { readonly bucket: string; getBuffer(key: string): Promise<Buffer> };
  readonly indexMessage: (raw: Buffer) => MessageIndex | Promise<MessageIndex>;
  readonly logger: FunctionLogger;
  readonly metrics: InboundMetrics;
  /** The outbound queue and its records (core/outbound.ts), for remote recipients. */
  readonly outbound: OutboundEnqueuer;
  /** The clock of firstAttemptAt; tests pin it. */
  readonly now?: () => Date;
  /**
   * Sender rewriting (core/srs.ts): forwards of outside mail leave with an SRS envelope sender
   * of the forwarding domain, and mail to a valid SRS address of ours goes back to the sender it
   * stands for. Without it forwards keep the original sender.
   */
  readonly srs?: SenderRewriting;
  /** The junk filter (functions/inbound/junk-filing.ts): likely junk goes to the account's Junk. Without it, all goes to INBOX. */
  readonly junk?: JunkFiling;
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

const INBOX = 'INBOX';

/**
 * Without a junk filter configured, mail the MX quarantined (docs/decisions/0014-inbound-authentication.md)
 * still goes to the account's \Junk; an account without one gets it in INBOX with $Junk (RFC 5788).
 * With a filter, the filter decides (it reads the same flag: junk-filing.ts).
 */
async function quarantineDestination(event: InboundEvent, account: string, store: InboundDeps['store']): Promise<{ mailbox: string; flags: string[] }> {
  if (!event.authentication?.quarantine || !store.listMailboxes) return { mailbox: INBOX, flags: [] };
  const junk = await findSpecialUseMailbox({ listMailboxes: store.listMailboxes.bind(store) }, account, '\\Junk');
  return { mailbox: junk?.name ?? INBOX, flags: [JUNK_KEYWORD] };
}

/**
 * A recipient the directory calls invalid can never be delivered; treating it as unknown keeps
 * one bad address from sending the whole message (and its good recipients) to the DLQ.
 */
async function resolveOrUnknown(directory: InboundDeps['directory'], rcpt: string): Promise<RecipientRoute> {
  try {
    return await directory.resolveRecipient(rcpt);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'invalid') return { kind: 'unknown-local' };
    throw err;
  }
}

async function planDelivery(event: InboundEvent, directory: InboundDeps['directory'], srs: SenderRewriting | undefined): Promise<DeliveryPlan> {
  const accounts = new Map<string, string>();
  const unknown: string[] = [];
  const remote = new Map<string, string[]>();
  const forwards = new Map<string, string>();
  const addRemote = (domain: string, address: string) => {
    const list = remote.get(domain) ?? [];
    if (!list.includes(address)) list.push(address);
    remote.set(domain, list);
  };
  // Lookups are independent reads; a transient failure of any of them fails the record (retried).
  const routes = await Promise.all(event.rcptTo.map(async (rcpt) => [rcpt, await resolveOrUnknown(directory, rcpt)] as const));
  for (const [rcpt, route] of routes) {
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
 * Files `event` into INBOX of every local mailbox it reaches. Idempotent per (inbound id,
 * mailbox) through the store's delivery key, so SQS redelivery (at-least-once in) never
 * duplicates (docs/ARCHITECTURE.md, invariant 2). Throws when any copy could not be filed for a
 * transient reason: the caller reports the record as failed and SQS retries it, and the
 * copies already filed come back as duplicates.
 */
export async function fileInbound(event: InboundEvent, deps: InboundDeps): Promise<InboundOutcome> {
  const { logger, metrics } = deps;
  // The event names a bucket, but this function only ever reads its own: an event pointing
  // elsewhere is a producer bug (or forged) and belongs in the DLQ, not in an S3 call.
  if (event.bucket !== deps.blobs.bucket) {
    throw new InvalidEventError(`event names bucket ${event.bucket}, expected ${deps.blobs.bucket}`);
  }
  const plan = await planDelivery(event, deps.directory, deps.srs);
  const unknown = [...plan.unknown];
  const filed: FiledCopy[] = [];
  const failures: unknown[] = [];

  if (plan.accounts.length > 0) {
    // One GET and one parse for all recipients; the index is stored on every copy.
    const raw = await deps.blobs.getBuffer(event.key);
    if (raw.length !== event.size) {
      logger.warn('blob size differs from the event', { inboundId: event.id, eventSize: event.size, blobSize: raw.length });
    }
    const index = await deps.indexMessage(raw);
    const judge = judgeFor(deps.junk, raw, event);
    const results = await Promise.allSettled(
      plan.accounts.map(async (account) => {
        const { mailbox, flags } = deps.junk && judge ? await copyDestination(deps.junk, judge, event, account, deps) : await quarantineDestination(event, account, deps.store);
        const file = (into: string) => deps.store.fileMessage({
          account,
          mailbox: into,
          deliveryKey: event.id,
          blobKey: event.key,
          size: raw.length,
          internalDate: event.receivedAt,
          flags,
          index,
        });
        // Junk deleted since it was looked up: the copy goes to INBOX rather than nowhere.
        return file(mailbox).catch((err: unknown) => {
          if (mailbox !== INBOX && err instanceof StoreError && err.code === 'not-found') return file(INBOX);
          throw err;
        });
      }),
    );
    results.forEach((result, i) => {
      const account = plan.accounts[i]!;
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
    });
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

  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} steps of ${event.id} failed (filing ${plan.accounts.length} copies, queuing remote)`);
  }
  return { filed, unknown, remote: plan.remote };
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
 * work), queued once per (inbound id, domain) through the outbound record (core/outbound.ts), so
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
