// The SQS side of the relay: one batch of outbound events in, partial batch failures out.
// Each record is validated and attempted on its own; all share the invocation's deadline.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { outboundEventSchema } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { parseRecordEvent, receiveCountOf } from '../queue-record.ts';
import { deliverOutbound, type RelayDeps } from './deliver-outbound.ts';

/**
 * `remainingMs` is the invocation's time left (Lambda's getRemainingTimeInMillis); SMTP attempts
 * stop `settleMarginMs` before it so re-enqueues and records are written before Lambda's timeout.
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
    const deadline = Date.now() + Math.max(1000, remainingMs - deps.config.settleMarginMs);
    // A batch is small (FUNCTIONS.relay.batchSize) and each record mostly waits on the network.
    const results = await Promise.allSettled(records.map((r) => processRecord(r, deadline)));
    return {
      batchItemFailures: records.filter((_, i) => results[i]!.status === 'rejected').map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
}
