// The SQS side of the inbound function: one batch of records in, partial batch failures out
// (Lambda's ReportBatchItemFailures), with each record validated and filed on its own.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { inboundEventSchema, InvalidEventError, type InboundEvent } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { parseRecordEvent, receiveCountOf } from '../queue-record.ts';
import { fileInboundBatch, type InboundDeps } from './file-inbound.ts';

/*
 * Why not Powertools' BatchProcessor + processPartialResponse: it is a stateful instance
 * (records and failures of the current batch live on it, shared across invocations at
 * module scope), it throws FullBatchFailureError when every record fails (which here is a
 * normal answer, e.g. a batch of one poison event), and it handles records one by one, where
 * filing wants the whole batch at once (recipient lookups and the copies for one mailbox share
 * their round trips). The function below is the same contract in a few lines, with the DLQ rule explicit.
 */
export function createBatchProcessor(deps: InboundDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const { logger, metrics } = deps;

  return async function processBatch(event: SQSEvent): Promise<SQSBatchResponse> {
    const records = event.Records ?? [];
    const failed = new Set<string>();
    const parsed: Array<{ record: SQSRecord; event: InboundEvent }> = [];
    for (const record of records) {
      try {
        parsed.push({ record, event: parseRecordEvent(inboundEventSchema, record, 'INBOUND', deps) });
      } catch {
        failed.add(record.messageId);
      }
    }
    const outcomes = await fileInboundBatch(parsed.map((p) => p.event), deps);
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const { record, event: inbound } = parsed[i]!;
      const err = outcome.reason;
      metrics.addMetric(err instanceof InvalidEventError ? 'InvalidEvents' : 'FailedEvents', 'Count', 1);
      logger.error('inbound event not filed; reported as a batch item failure', {
        messageId: record.messageId, inboundId: inbound.id, receiveCount: receiveCountOf(record), error: describeError(err),
      });
      failed.add(record.messageId);
    });
    // Reported in the batch's order; the item identifier is the SQS message id.
    return {
      batchItemFailures: records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
}
