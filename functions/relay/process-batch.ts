// The SQS side of the relay: one batch of outbound events in, partial batch failures out.
// Each record is validated and attempted on its own; all share the invocation's deadline.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { outboundEventSchema } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { parseRecordEvent, receiveCountOf } from '../queue-record.ts';
import { deliverOutbound, type RelayDeps } from './deliver-outbound.ts';

/**
 * `remainingMs` is the invocation's time left (Lambda's getRemainingTimeInMillis); SMTP attempts
 * stop `settleMarginMs` before it (no new session starts after that, and one in progress is
 * ended) so that the attempt, its retry copy, DSNs and the record are written before Lambda's
 * timeout: a timed-out invocation would leave the attempt uncounted and hold the copy for the
 * queue's visibility timeout.
 */
export function createRelayBatchProcessor(deps: RelayDeps): (event: SQSEvent, remainingMs: number) => Promise<SQSBatchResponse> {
  const { logger, metrics } = deps;

  async function processRecord(record: SQSRecord, deadline: number): Promise<void> {
    const receiveCount = receiveCountOf(record);
    const event = parseRecordEvent(outboundEventSchema, record, 'OUTBOUND', deps);
    try {
      const outcome = await deliverOutbound(event, deps, deadline);
      logger.info('outbound copy settled', { messageId: record.messageId, outboundId: event.id, outcome, receiveCount });
    } catch (err) {
      metrics.addMetric('FailedEvents', 'Count', 1);
      logger.error('outbound event not settled; reported as a batch item failure', {
        messageId: record.messageId, outboundId: event.id, receiveCount, error: describeError(err),
      });
      throw err;
    }
  }

  return async function processBatch(event: SQSEvent, remainingMs: number): Promise<SQSBatchResponse> {
    const records = event.Records ?? [];
    // Never past the invocation's end: with less time left than the margin, half of it settles.
    const margin = Math.min(deps.config.settleMarginMs, remainingMs / 2);
    const deadline = Date.now() + Math.max(0, remainingMs - margin);
    // A batch is small (FUNCTIONS.relay.batchSize) and each record mostly waits on the network.
    const results = await Promise.allSettled(records.map((r) => processRecord(r, deadline)));
    return {
      batchItemFailures: records.filter((_, i) => results[i]!.status === 'rejected').map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
}
