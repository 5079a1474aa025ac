// Sending a DSN back to a message's envelope sender: filed through the inbound queue when the
// sender is local (one path files everything), relayed from `<>` otherwise; never for a bounce.
import { createHash } from 'node:crypto';
import { rawBlobKey } from '../../core/blobs.ts';
import type { InboundEvent, OutboundEvent } from '../../core/contracts.ts';
import { buildDsn, type DsnRecipient } from '../../core/outbound/dsn.ts';
import { parseAddress } from '../../core/addresses.ts';
import { enqueueOutbound, outboundIdFor, type OutboundEnqueuer } from '../../core/outbound/enqueue.ts';
import type { FunctionLogger } from '../queue-record.ts';
import type { RelayMetrics } from './telemetry.ts';

export interface BounceDeps {
  readonly hostname: string;
  readonly blobs: { readonly bucket: string; put(key: string, body: Buffer): Promise<void> };
  readonly directory: { isLocalDomain(domain: string): Promise<boolean> };
  readonly inbound: { sendInbound(queueUrl: string, event: InboundEvent): Promise<void>; readonly queueUrl: string };
  readonly outbound: OutboundEnqueuer;
  readonly logger: FunctionLogger;
  readonly metrics: RelayMetrics;
}

export interface BounceRequest {
  readonly event: OutboundEvent;
  readonly original: Buffer;
  readonly recipients: readonly DsnRecipient[];
  /** Distinguishes the reports of one delivery (`failed-3`, `delayed`): the DSN id derives from it. */
  readonly tag: string;
  readonly now: Date;
  readonly willRetryUntil?: Date;
}

/**
 * Sends the report. Its id is derived from (outbound id, tag), so a retried record files or
 * queues the same report once (inbound's idempotency per id, the outbound record's claim).
 */
export async function sendDsn(request: BounceRequest, deps: BounceDeps): Promise<void> {
  const { event, now } = request;
  // RFC 3464 §3 / RFC 5321 §6.2: a message from the null reverse-path is never answered.
  if (event.mailFrom === '') {
    deps.metrics.addMetric('DsnSuppressed', 'Count', 1);
    deps.logger.warn('not bouncing a bounce (null sender)', { outboundId: event.id, recipients: request.recipients.length, tag: request.tag });
    return;
  }
  const sender = parseAddress(event.mailFrom);
  if (!sender) {
    deps.metrics.addMetric('DsnSuppressed', 'Count', 1);
    deps.logger.error('cannot report to an unparseable sender', { outboundId: event.id, tag: request.tag });
    return;
  }
  const id = createHash('sha256').update(`${event.id}:${request.tag}`).digest('hex').slice(0, 40);
  const dsn = buildDsn({
    hostname: deps.hostname,
    to: event.mailFrom,
    recipients: request.recipients,
    arrivalDate: new Date(event.firstAttemptAt),
    now,
    original: request.original,
    id,
    ...(request.willRetryUntil ? { willRetryUntil: request.willRetryUntil } : {}),
  });
  const key = rawBlobKey(id, now);
  await deps.blobs.put(key, dsn);

  const local = await deps.directory.isLocalDomain(sender.domain);
  if (local) {
    await deps.inbound.sendInbound(deps.inbound.queueUrl, {
      version: 1,
      id,
      bucket: deps.blobs.bucket,
      key,
      size: dsn.length,
      receivedAt: now.toISOString(),
      mailFrom: '',
      rcptTo: [event.mailFrom],
      remote: { ip: '127.0.0.1', helo: deps.hostname, tls: null },
      authenticatedUser: null,
    });
  } else {
    const bounce: OutboundEvent = {
      version: 1,
      id: outboundIdFor(id, sender.domain),
      inboundId: id,
      bucket: deps.blobs.bucket,
      key,
      mailFrom: '',
      domain: sender.domain,
      recipients: [event.mailFrom],
      firstAttemptAt: now.toISOString(),
      attempts: [],
      sequence: 0,
    };
    await enqueueOutbound(bounce, deps.outbound);
  }
  deps.metrics.addMetric('DsnSent', 'Count', 1);
  deps.logger.info('delivery status notification sent', {
    outboundId: event.id, dsnId: id, tag: request.tag, recipients: request.recipients.length,
    action: request.recipients[0]?.action, local,
  });
}
