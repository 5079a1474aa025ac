// The SQS side of the inbound function: one batch of records in, partial batch failures out
// (Lambda's ReportBatchItemFailures), with each record validated and filed on its own.
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { inboundEventSchema, InvalidEventError } from '../../core/contracts.ts';
import { describeError } from '../../core/errors.ts';
import { parseRecordEvent, receiveCountOf } from '../queue-record.ts';
import { fileInbound, type InboundDeps } from './file-inbound.ts';

/**
 * Records filed at once. A record holds its whole blob in memory while it is indexed
 * (up to maxMessageBytes), so a batch of 10 is not let loose all together.
 */
const RECORD_CONCURRENCY = 4;

/*
 * Why not Powertools' BatchProcessor + processPartialResponse: it is a stateful instance
 * (records and failures of the current batch live on it, shared across invocations at
 * module scope), it throws FullBatchFailureError when every record fails (which here is a
 * normal answer, e.g. a batch of one poison event), and it runs all records at once with
 * no bound. The loop below is the same contract in a few lines, with the DLQ rule explicit.
 */
export function createBatchProcessor(deps: InboundDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const { logger, metrics } = deps;

  /** Resolves when the record is done; rejects when SQS should deliver it again. */
  async function processRecord(record: SQSRecord): Promise<void> {
    const event = parseRecordEvent(inboundEventSchema, record, 'INBOUND', deps);
    try {
      await fileInbound(event, deps);
    } catch (err) {
      metrics.addMetric(err instanceof InvalidEventError ? 'InvalidEvents' : 'FailedEvents', 'Count', 1);
      logger.error('inbound event not filed; reported as a batch item failure', {
        messageId: record.messageId, inboundId: event.id, receiveCount: receiveCountOf(record), error: describeError(err),
      });
      throw err;
    }
  }

  return async function processBatch(event: SQSEvent): Promise<SQSBatchResponse> {
    const records = event.Records ?? [];
    const failed = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const record = records[next++]!;
        try {
          await processRecord(record);
        } catch {
          failed.add(record.messageId);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RECORD_CONCURRENCY, records.length) }, worker));
    // Reported in the batch's order; the item identifier is the SQS message id.
    return {
      batchItemFailures: records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
}
