// What both queue-driven functions do first with an SQS record: read its body as a contract
// event, and report a malformed one (log line, metric) so the redrive policy moves it to the DLQ.
import type { SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { InvalidEventError, parseEvent } from '../core/contracts.ts';

/** The slice of Powertools' Logger the functions use; structured fields only, never message bodies. */
export interface FunctionLogger {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** How many times SQS has handed this record out, this time included. */
export const receiveCountOf = (record: SQSRecord) => Number(record.attributes?.ApproximateReceiveCount ?? 1);

/**
 * The record's event, or InvalidEventError. A malformed event never becomes valid: it is reported
 * failed on every receive until maxReceiveCount sends it to the DLQ. The body is not logged (it may
 * carry addresses); its message id and size are enough to find it there.
 */
export function parseRecordEvent<T>(
  schema: z.ZodType<T>,
  record: SQSRecord,
  kind: 'INBOUND' | 'OUTBOUND',
  deps: { readonly logger: FunctionLogger; readonly metrics: { addMetric(name: 'InvalidEvents', unit: 'Count', value: number): unknown } },
): T {
  try {
    return parseEvent(schema, record.body);
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    deps.metrics.addMetric('InvalidEvents', 'Count', 1);
    deps.logger.error(`INVALID ${kind} EVENT: rejected, will go to the DLQ after maxReceiveCount`, {
      messageId: record.messageId, receiveCount: receiveCountOf(record), bodyBytes: Buffer.byteLength(record.body ?? ''), reason: err.message,
    });
    throw err;
  }
}
