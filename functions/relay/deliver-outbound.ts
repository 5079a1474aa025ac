// One outbound event, one delivery attempt: drop stale copies, wait out `notBefore`, detect loops,
// sign, try the next hops, then settle each recipient (delivered, retry later, or bounce).
import type { BlobReferences } from '../../core/outbound/enqueue.ts';
import type { OutboundEvent } from '../../core/contracts.ts';
import { countReceivedHeaders, statusOfReply, type DsnRecipient } from '../../core/outbound/dsn.ts';
import { signMessage, type DkimKey } from '../../core/dkim.ts';
import { SmtpError } from '../../core/smtp-reply.ts';
import { decideRetry, expiryOf, queueDelayUntil } from '../../core/outbound/policy.ts';
import { METRICS } from '../../core/resources.ts';
import { TERMINAL_STATES, type OutboundQueueStore } from '../../core/outbound/queue-store.ts';
import { sendDsn, type BounceDeps } from './bounce.ts';
import { signingDomainFor } from './signing-domain.ts';
import { forwardedAs, nextHopVerifiesFrom, rewriteForwardedFrom } from './forwarded-from.ts';
import { parseAddress } from '../../core/addresses.ts';
import type { RelayConfig } from './config.ts';
import { resolveDestination, type DnsResolver } from './mx.ts';
import { sendTransaction, type RecipientReply, type SmtpTarget, type TransactionResult } from './smtp-client.ts';
import { sendThroughSesApi, type SesSender } from './ses-api.ts';

export interface RelayDeps extends BounceDeps {
  readonly config: RelayConfig;
  readonly records: Pick<OutboundQueueStore, 'get' | 'advance'>;
  /** The delivery's hold on its blob (taken by enqueueOutbound), released when it ends. */
  readonly blobRefs: Pick<BlobReferences, 'releaseBlob'>;
  readonly blobs: BounceDeps['blobs'] & { getBuffer(key: string): Promise<Buffer> };
  readonly queue: { sendOutbound(queueUrl: string, event: OutboundEvent, delaySeconds?: number): Promise<void>; readonly queueUrl: string };
  readonly dkimKeys: { get(domain: string): Promise<DkimKey | null> };
  readonly resolver: DnsResolver;
  /** Smarthost credentials, read lazily (Secrets Manager in AWS). */
  readonly smarthostCredentials: () => Promise<{ user: string; pass: string } | undefined>;
  /** The SESv2 client, when the smarthost is the SES API (config.smarthost.kind `ses-api`). */
  readonly ses?: SesSender;
  readonly now: () => Date;
  readonly random?: () => number;
}

export type RelayOutcome = 'delivered' | 'bounced' | 'deferred' | 'partial' | 'stale' | 'cancelled' | 'redelayed';

/** The event's generation; events from before generations existed count as 0. */
const sequenceOf = (event: OutboundEvent) => event.sequence ?? 0;

/**
 * Handles one queue copy. Resolves when SQS may delete it: everything that must outlive it
 * (a retry copy, DSNs, the record) is written first, so a crash at any point loses nothing and
 * at worst repeats the attempt. Rejects when the copy should come back (transient AWS trouble).
 */
export async function deliverOutbound(event: OutboundEvent, deps: RelayDeps, deadline: number): Promise<RelayOutcome> {
  const { logger, metrics } = deps;
  const now = deps.now();
  const record = await deps.records.get(event.id);
  if (record && record.state === 'cancelled') {
    metrics.addMetric('CancelledDropped', 'Count', 1);
    logger.warn('delivery cancelled by an operator; copy dropped without a bounce', { outboundId: event.id });
    return 'cancelled';
  }
  if (record && (TERMINAL_STATES.includes(record.state) || record.sequence > sequenceOf(event))) {
    metrics.addMetric('StaleCopiesDropped', 'Count', 1);
    logger.info('stale copy dropped (a newer one settled this delivery)', {
      outboundId: event.id, copySequence: sequenceOf(event), recordSequence: record.sequence, state: record.state,
    });
    return 'stale';
  }

  // SQS delays at most 900 s: a longer wait comes back early and is delayed again.
  if (event.notBefore && new Date(event.notBefore).getTime() > now.getTime()) {
    const { delaySeconds, notBefore } = queueDelayUntil(new Date(event.notBefore), now);
    const { notBefore: _drop, ...rest } = event;
    await deps.queue.sendOutbound(deps.queue.queueUrl, notBefore ? event : rest, delaySeconds);
    metrics.addMetric('Redelayed', 'Count', 1);
    return 'redelayed';
  }

  const raw = await deps.blobs.getBuffer(event.key);
  const policy = deps.config.policy;
  let replies: RecipientReply[];
  let remoteMta: string | null = null;
  const hops = countReceivedHeaders(raw);
  if (hops > policy.maxHops) {
    // RFC 5321 §6.3: a loop is a permanent failure; the message is not sent on.
    metrics.addMetric('LoopsDetected', 'Count', 1);
    logger.warn('mail loop detected: too many Received headers', { outboundId: event.id, hops, maxHops: policy.maxHops });
    replies = event.recipients.map((address) => ({ address, class: 5, reply: `554 5.4.6 Too many hops (${hops} Received headers, limit ${policy.maxHops})` }));
  } else {
    ({ replies, remoteMta } = await attempt(event, raw, deps, deadline));
  }

  const delivered = replies.filter((r) => r.class === 2);
  const temporary = replies.filter((r) => r.class === 4);
  const permanent = replies.filter((r) => r.class === 5);
  const failed: DsnRecipient[] = permanent.map((r) => ({
    address: r.address, action: 'failed', status: statusOfReply(r.reply, 5), diagnostic: r.reply, remoteMta,
  }));
  metrics.addMetric('Delivered', 'Count', delivered.length);
  if (delivered.length) logger.info('delivered', { outboundId: event.id, recipients: delivered.length, remoteMta, attempt: event.attempts.length + 1 });

  let next: OutboundEvent | null = null;
  let nextAt: Date | null = null;
  let warnNow = false;
  if (temporary.length > 0) {
    const decision = decideRetry({
      now, firstAttemptAt: new Date(event.firstAttemptAt), failures: event.attempts.length + 1, warned: event.delayWarned ?? false, policy,
    });
    if (decision.kind === 'expire') {
      metrics.addMetric('Expired', 'Count', temporary.length);
      // RFC 3463 X.4.7: delivery time expired; the last reply says why.
      for (const r of temporary) failed.push({ address: r.address, action: 'failed', status: '5.4.7', diagnostic: `${r.reply} (gave up after ${formatAge(policy.maxAgeSeconds)})`, remoteMta });
    } else {
      warnNow = decision.warnNow;
      nextAt = decision.at;
      const { delaySeconds, notBefore } = queueDelayUntil(decision.at, now);
      const { notBefore: _old, ...base } = event;
      next = {
        ...base,
        recipients: temporary.map((r) => r.address),
        attempts: [...event.attempts, { at: now.toISOString(), error: temporary[0]!.reply, recipients: temporary.map((r) => r.address) }],
        sequence: sequenceOf(event) + 1,
        delayWarned: (event.delayWarned ?? false) || warnNow,
        ...(notBefore ? { notBefore: notBefore.toISOString() } : {}),
      };
      // The retry copy goes first: the original is deleted only after this succeeded.
      await deps.queue.sendOutbound(deps.queue.queueUrl, next, delaySeconds);
      metrics.addMetric('Deferred', 'Count', temporary.length);
      logger.warn('deferred', { outboundId: event.id, recipients: temporary.length, reply: temporary[0]!.reply, nextAttemptAt: decision.at.toISOString(), attempt: event.attempts.length + 1 });
    }
  }

  const attemptNo = event.attempts.length + 1;
  if (failed.length > 0) {
    metrics.addMetric('Bounced', 'Count', failed.length);
    logger.warn('failed permanently', { outboundId: event.id, recipients: failed.length, reply: failed[0]!.diagnostic });
    await sendDsn({ event, original: raw, recipients: failed, tag: `failed-${attemptNo}`, now }, deps);
  }
  if (warnNow) {
    metrics.addMetric('DelayWarnings', 'Count', 1);
    await sendDsn({
      event, original: raw, tag: 'delayed', now, willRetryUntil: expiryOf(new Date(event.firstAttemptAt), policy),
      recipients: temporary.map((r) => ({ address: r.address, action: 'delayed', status: statusOfReply(r.reply, 4), diagnostic: r.reply, remoteMta })),
    }, deps);
  }

  const lastError = temporary[0]?.reply ?? failed[0]?.diagnostic ?? null;
  const state = next ? 'deferred' : failed.length > 0 ? 'bounced' : 'delivered';
  const advanced = await deps.records.advance(event.id, sequenceOf(event), {
    state, lastError, nextAttemptAt: nextAt ? nextAt.toISOString() : null, ...(next ? { event: next } : {}),
  });
  if (!advanced) logger.warn('another copy settled this delivery meanwhile (at-least-once duplicate)', { outboundId: event.id, sequence: sequenceOf(event) });
  // Only the copy whose advance moved the record to its end releases the blob, so it goes once.
  else if (!next) await deps.blobRefs.releaseBlob(event.key);
  if (next) return delivered.length > 0 || failed.length > 0 ? 'partial' : 'deferred';
  return failed.length > 0 ? (delivered.length > 0 ? 'partial' : 'bounced') : 'delivered';
}

function formatAge(seconds: number): string {
  return seconds >= 86400 ? `${+(seconds / 86400).toFixed(1)} days` : seconds >= 3600 ? `${+(seconds / 3600).toFixed(1)} hours` : `${seconds} s`;
}

/**
 * The blob without the Return-Path the edge put on top: RFC 5321 §4.4 has the final delivery
 * MTA add it, and an originating system SHOULD NOT send a message that has one. Only leading
 * Return-Path fields (with their folded lines) go; every other byte stays as received.
 */
export function withoutReturnPath(raw: Buffer): Buffer {
  let start = 0;
  while (/^return-path[ \t]*:/i.test(raw.subarray(start, start + 16).toString('latin1'))) {
    let end = raw.indexOf('\n', start);
    while (end >= 0 && (raw[end + 1] === 0x20 || raw[end + 1] === 0x09)) end = raw.indexOf('\n', end + 1);
    if (end < 0) return raw;
    start = end + 1;
  }
  return start === 0 ? raw : raw.subarray(start);
}

async function signed(event: OutboundEvent, raw: Buffer, deps: RelayDeps, domain: string | null): Promise<Buffer> {
  const key = domain ? await deps.dkimKeys.get(domain) : null;
  if (!key) {
    deps.metrics.addMetric('DkimUnsigned', 'Count', 1);
    deps.logger.info(domain ? 'no DKIM key for the sender domain; sent unsigned' : 'not ours to sign (not submitted by an account); sent unsigned', { outboundId: event.id, domain });
    return raw;
  }
  try {
    const out = await signMessage(raw, key);
    deps.metrics.addMetric('DkimSigned', 'Count', 1);
    return out;
  } catch (err) {
    // An unsigned message still beats none; the metric makes the broken key visible.
    deps.metrics.addMetric('DkimUnsigned', 'Count', 1);
    deps.logger.error('DKIM signing failed; sent unsigned', { outboundId: event.id, domain, error: String(err) });
    return raw;
  }
}

/**
 * A forward through SES goes out as the local address it came through (functions/relay/forwarded-from.ts),
 * and that address's domain signs it: the From: is now ours to vouch for (RFC 6376 §1.1), as a
 * mailing list signs what it resends. Everything else goes as it is, signed as signingDomainFor says.
 */
async function asForwarded(event: OutboundEvent, raw: Buffer, deps: RelayDeps): Promise<{ message: Buffer; signingDomain: string | null }> {
  const as = { message: raw, signingDomain: signingDomainFor(event) };
  const via = nextHopVerifiesFrom(deps.config) ? forwardedAs(event) : null;
  const viaDomain = via ? parseAddress(via)?.domain : undefined;
  // Without an address of ours to send as (a forward queued with neither SRS nor its alias), SES refuses it as before.
  if (!via || !viaDomain || !(await deps.directory.isLocalDomain(viaDomain))) return as;
  const rewrite = await rewriteForwardedFrom(raw, via, (domain) => deps.directory.isLocalDomain(domain));
  if (rewrite.kind === 'unchanged') return as;
  deps.metrics.addMetric('ForwardsSentAsOurs', 'Count', 1);
  deps.logger.info('forward sent with a From: of ours (the next hop takes only verified identities)', { outboundId: event.id, via });
  return { message: rewrite.message, signingDomain: viaDomain };
}

/** The SES API as a next hop: one "host" whose name appears as Remote-MTA in reports. */
interface SesApiHop { readonly kind: 'ses-api'; readonly name: string }

/** The hosts to try, in order: smarthost (SMTP or the SES API), transport map, or MX (RFC 5321 §5.1). */
async function nextHops(event: OutboundEvent, deps: RelayDeps): Promise<Array<SmtpTarget | SesApiHop> | SmtpError> {
  const { config } = deps;
  if (config.smarthost?.kind === 'ses-api') return [{ kind: 'ses-api', name: `email.${config.smarthost.region}.amazonaws.com` }];
  if (config.smarthost) {
    const s = config.smarthost;
    const auth = await deps.smarthostCredentials();
    return [{
      name: s.host, address: s.host, port: s.port, secure: s.tls === 'implicit', requireTls: s.tls === 'starttls',
      verifyCertificate: s.verifyCertificate, ...(auth ? { auth } : {}),
    }];
  }
  const mapped = config.transports[event.domain];
  if (mapped) return [{ name: mapped.host, address: mapped.host, port: mapped.port, secure: false, requireTls: false, verifyCertificate: false }];
  try {
    const destination = await resolveDestination(event.domain, deps.resolver, config.mxPort, deps.random);
    // RFC 7505 §4.2: mail to a null MX domain fails at once with 556 5.1.10.
    if (destination.kind === 'null-mx') return new SmtpError(556, '5.1.10', `Recipient domain ${event.domain} accepts no mail (null MX)`);
    return destination.hosts.flatMap((h) => h.addresses.map((address) => ({
      name: h.name, address, port: h.port, secure: false, requireTls: false, verifyCertificate: false,
    })));
  } catch (err) {
    if (err instanceof SmtpError) return err;
    throw err;
  }
}

async function attempt(event: OutboundEvent, raw: Buffer, deps: RelayDeps, deadline: number): Promise<{ replies: RecipientReply[]; remoteMta: string | null }> {
  const all = (cls: 4 | 5, reply: string): RecipientReply[] => event.recipients.map((address) => ({ address, class: cls, reply }));
  const hops = await nextHops(event, deps);
  if (hops instanceof SmtpError) return { replies: all(hops.code >= 500 ? 5 : 4, `${hops.code} ${hops.reply}`), remoteMta: null };
  const outgoing = await asForwarded(event, withoutReturnPath(raw), deps);
  const message = await signed(event, outgoing.message, deps, outgoing.signingDomain);
  let last: TransactionResult | null = null;
  let lastHost: string | null = null;
  let anyTemporary = false;
  let tried = 0;
  for (const target of hops) {
    // Out of time: no new session is started; the record and the retry copy still get written.
    if (Date.now() >= deadline) break;
    tried++;
    if ('kind' in target) {
      if (!deps.ses) throw new Error('the smarthost is the SES API but the relay was given no SES client');
      last = await sendThroughSesApi({ client: deps.ses, mailFrom: event.mailFrom, recipients: event.recipients, message, deadline });
    } else {
      last = await sendTransaction({
        target, heloName: deps.hostname, mailFrom: event.mailFrom, recipients: event.recipients, message,
        timeouts: deps.config.timeouts, deadline,
      });
    }
    lastHost = target.name;
    if (last.kind === 'answered') return { replies: last.replies, remoteMta: target.name };
    // The host never answered for the message: an operator's signal (a misconfigured smarthost,
    // blocked port 25), logged and counted per host; the outbound-failures alarm watches the metric.
    deps.metrics.addMetric(METRICS.relay.attemptsFailed, 'Count', 1);
    deps.logger.error('delivery attempt failed', {
      outboundId: event.id, host: target.name, ...('kind' in target ? {} : { address: target.address, port: target.port }),
      reason: last.reply, attempt: event.attempts.length + 1, recipients: event.recipients.length,
    });
    // Broken off mid-transaction: the next host is not tried, the whole transaction is retried later.
    if (last.kind === 'interrupted') return { replies: all(4, last.reply), remoteMta: target.name };
    if (!last.permanent) anyTemporary = true;
  }
  // A 5xx before the envelope from every host (e.g. a 554 greeting) is permanent; anything else retries.
  const permanent = last !== null && last.kind === 'host-failed' && !anyTemporary && tried === hops.length;
  return { replies: all(permanent ? 5 : 4, last?.reply ?? '451 4.4.7 No time left for a delivery attempt'), remoteMta: lastHost };
}
