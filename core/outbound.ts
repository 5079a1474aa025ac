// Putting a new delivery on the outbound queue exactly once per (message, destination domain):
// shared by the inbound function (remote recipients, alias forwards) and the relay (bounces).
import { createHash } from 'node:crypto';
import type { OutboundEvent } from './contracts.ts';
import type { OutboundQueueStore } from './store/outbound-queue.ts';

export interface OutboundEnqueuer {
  readonly records: Pick<OutboundQueueStore, 'claim' | 'markEnqueued'>;
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
  if ((await deps.records.claim(event)) === 'done') return false;
  await deps.queue.sendOutbound(deps.queueUrl, event, 0);
  await deps.records.markEnqueued(event.id);
  return true;
}
