// Putting a new delivery on the outbound queue exactly once per (message, destination domain):
// shared by the inbound function (remote recipients, alias forwards) and the relay (bounces).
import { createHash } from 'node:crypto';
import type { OutboundEvent } from '../contracts.ts';
import type { OutboundQueueStore } from './queue-store.ts';

/** Blob reference counting (core/store/blob-refs.ts): a pending delivery holds its blob like a message does. */
export interface BlobReferences {
  retainBlob(blobKey: string): Promise<void>;
  releaseBlob(blobKey: string): Promise<void>;
}

export interface OutboundEnqueuer {
  readonly records: Pick<OutboundQueueStore, 'claim' | 'markEnqueued'>;
  readonly blobRefs: BlobReferences;
  readonly queue: { sendOutbound(queueUrl: string, event: OutboundEvent, delaySeconds?: number): Promise<void> };
  readonly queueUrl: string;
}

/**
 * The outbound id of (message id, destination domain): deterministic, so a redelivered inbound
 * record finds the delivery it already queued. The domain is hashed to keep the id short.
 */
export function outboundIdFor(messageId: string, domain: string): string {
  return `${messageId}-${createHash('sha256').update(domain.toLowerCase()).digest('hex').slice(0, 16)}`;
}

/**
 * Queues `event` unless a previous try already did. The record goes first, then SendMessage, then
 * the record is marked enqueued: a crash between the last two sends the event again on the retry,
 * and the relay keeps one copy per generation (OutboundQueueStore.advance), so at worst an
 * attempt is made twice, never lost. Returns false when it had been queued before.
 */
export async function enqueueOutbound(event: OutboundEvent, deps: OutboundEnqueuer): Promise<boolean> {
  // The reference is taken before the record exists, so no crash can leave a delivery whose
  // blob is unreferenced; only the call that creates the record keeps it. The relay releases it
  // when the delivery ends (delivered, bounced), mailctl when it cancels one.
  await deps.blobRefs.retainBlob(event.key);
  const claim = await deps.records.claim(event);
  if (claim !== 'new') await deps.blobRefs.releaseBlob(event.key);
  if (claim === 'done') return false;
  await deps.queue.sendOutbound(deps.queueUrl, event, 0);
  await deps.records.markEnqueued(event.id);
  return true;
}
