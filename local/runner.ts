// The Lambda SQS event source, locally: polls a queue, invokes a real handler with real
// `SQSEvent`s and applies AWS's outcome rules (batchItemFailures, timeouts, redelivery).
import { randomBytes, randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

export type SqsLambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly functionName: string;
  readonly handler: SqsLambdaHandler;
  /** Records per invocation, 1..10000 (AWS: above 10 needs a batching window). */
  readonly batchSize: number;
  /** Seconds to keep gathering records after the first one arrives, 0..300. */
  readonly maxBatchingWindowSeconds: number;
  /** The function timeout: an invocation running longer fails as a whole. */
  readonly timeoutSeconds: number;
  /** FunctionResponseTypes: ['ReportBatchItemFailures']; without it the response is ignored. Default true. */
  readonly reportBatchItemFailures?: boolean;
  /** Batches in flight at once (Lambda scales out over pollers). Default 2. */
  readonly concurrency?: number;
  /**
   * Longest long poll, seconds (SQS allows 0..20). Default 20. stop() waits for polls in
   * progress rather than abandoning them: an emulator may still hand an abandoned poll's
   * records to the closed connection, hiding them for a whole visibility timeout. So this also
   * bounds how long stop() takes.
   */
  readonly waitTimeSeconds?: number;
  /** Told about every finished invocation (logs, tests). */
  readonly onBatch?: (outcome: BatchOutcome) => void;
  /** Told about polling or deletion trouble; the source keeps going. */
  readonly onError?: (error: unknown, during: 'receive' | 'delete') => void;
}

export type BatchVerdict =
  /** Handler returned nothing or no failures: every record deleted. */
  | 'success'
  /** batchItemFailures named some records: the others deleted. */
  | 'partial'
  /** Handler threw or rejected: nothing deleted. */
  | 'error'
  /** Handler ran past the function timeout: nothing deleted. */
  | 'timeout'
  /** batchItemFailures was malformed or named an unknown record: nothing deleted (AWS rule). */
  | 'invalid-response';

export interface BatchOutcome {
  readonly awsRequestId: string;
  readonly verdict: BatchVerdict;
  readonly messageIds: string[];
  readonly deleted: string[];
  /** Left on the queue; visible again after the queue's visibility timeout. */
  readonly retried: string[];
  readonly error?: unknown;
  readonly durationMs: number;
}

export interface SqsEventSource {
  /** Stops polling, lets in-flight batches finish, resolves when all pollers have ended. */
  stop(): Promise<void>;
}

/** Lambda's payload limit for one invocation; a batch stops growing before it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** SQS's largest message, the head-room kept below the payload limit. */
const MAX_SQS_MESSAGE_BYTES = 256 * 1024;
/** ReceiveMessage and DeleteMessageBatch take at most ten. */
const SQS_BATCH_LIMIT = 10;
/** Pause between short polls in the last second of a batching window. */
const SHORT_POLL_PAUSE_MS = 50;

/** Starts `concurrency` pollers on the queue; each gathers a batch, invokes, settles, repeats. */
export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  if (options.batchSize < 1 || options.batchSize > 10_000) throw new RangeError('batchSize must be 1..10000');
  if (options.batchSize > SQS_BATCH_LIMIT && options.maxBatchingWindowSeconds < 1) {
    throw new RangeError('batchSize above 10 needs maxBatchingWindowSeconds >= 1 (as in AWS)');
  }
  const concurrency = options.concurrency ?? 2;
  const stopping = new AbortController();
  const pollers = Array.from({ length: concurrency }, () => runPoller(options, stopping.signal));
  return {
    async stop() {
      stopping.abort();
      await Promise.all(pollers);
    },
  };
}

async function runPoller(options: SqsEventSourceOptions, stopping: AbortSignal): Promise<void> {
  while (!stopping.aborted) {
    let messages: Message[];
    try {
      messages = await gatherBatch(options, stopping);
    } catch (err) {
      if (stopping.aborted) return;
      options.onError?.(err, 'receive');
      await pause(1000, stopping);
      continue;
    }
    // A batch already taken off the queue is always invoked and settled, even while stopping.
    if (messages.length > 0) await invokeAndSettle(options, messages);
  }
}

/**
 * Long-polls for the first record, then keeps receiving until batchSize records, the
 * batching window or the payload limit (AWS Lambda's three batch triggers).
 */
async function gatherBatch(options: SqsEventSourceOptions, stopping: AbortSignal): Promise<Message[]> {
  // `stopping` ends gathering between polls, never during one (see waitTimeSeconds).
  const batch: Message[] = [];
  let payloadBytes = 0;
  let windowEnds = Infinity;
  const maxWait = options.waitTimeSeconds ?? 20;
  while (batch.length < options.batchSize && payloadBytes < MAX_PAYLOAD_BYTES - MAX_SQS_MESSAGE_BYTES) {
    let waitSeconds: number;
    if (batch.length === 0) {
      if (stopping.aborted) break;
      waitSeconds = maxWait;
    } else {
      const remainingMs = windowEnds - Date.now();
      if (remainingMs <= 0 || stopping.aborted) break;
      // Long polls come in whole seconds; the last fraction of the window is short-polled.
      waitSeconds = Math.min(maxWait, Math.floor(remainingMs / 1000));
    }
    const received = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_BATCH_LIMIT, options.batchSize - batch.length),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length > 0 && batch.length === 0) windowEnds = Date.now() + options.maxBatchingWindowSeconds * 1000;
    for (const m of messages) {
      // A window longer than the visibility timeout can bring a record back while it is
      // gathered; keep one copy, with the newest receipt handle (the older one is stale).
      const seen = batch.findIndex((b) => b.MessageId === m.MessageId);
      if (seen >= 0) batch[seen] = m;
      else {
        batch.push(m);
        payloadBytes += Buffer.byteLength(m.Body ?? '');
      }
    }
    if (batch.length > 0 && messages.length === 0 && waitSeconds === 0) {
      await pause(Math.min(SHORT_POLL_PAUSE_MS, Math.max(0, windowEnds - Date.now())), stopping);
    }
  }
  return batch;
}

async function invokeAndSettle(options: SqsEventSourceOptions, messages: Message[]): Promise<void> {
  const started = Date.now();
  const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, options)) };
  const context = lambdaContext(options, started + options.timeoutSeconds * 1000);
  const messageIds = event.Records.map((r) => r.messageId);

  const { verdict, failedIds, error } = await invokeWithTimeout(options, event, context);
  const failed = new Set(verdict === 'partial' ? failedIds : verdict === 'success' ? [] : messageIds);
  const toDelete = event.Records.filter((r) => !failed.has(r.messageId));
  const deleted = await deleteRecords(options, toDelete);
  options.onBatch?.({
    awsRequestId: context.awsRequestId,
    verdict,
    messageIds,
    deleted,
    retried: messageIds.filter((id) => failed.has(id)),
    ...(error === undefined ? {} : { error }),
    durationMs: Date.now() - started,
  });
}

async function invokeWithTimeout(
  options: SqsEventSourceOptions,
  event: SQSEvent,
  context: Context,
): Promise<{ verdict: BatchVerdict; failedIds: string[]; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutSeconds * 1000);
  });
  // A Lambda that times out is frozen; here its promise runs on, so its late answer is dropped.
  const invocation = Promise.resolve()
    .then(() => options.handler(event, context))
    .then((response) => ({ response }), (error: unknown) => ({ error }));
  try {
    const result = await Promise.race([invocation, timedOut]);
    if (result === 'timeout') {
      return { verdict: 'timeout', failedIds: [], error: new Error(`Task timed out after ${options.timeoutSeconds} seconds`) };
    }
    if ('error' in result) return { verdict: 'error', failedIds: [], error: result.error };
    if (options.reportBatchItemFailures === false) return { verdict: 'success', failedIds: [] };
    return judgeBatchResponse(result.response, new Set(event.Records.map((r) => r.messageId)));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * AWS's ReportBatchItemFailures rules: a null/empty response or list is full success; a list
 * naming records retries just those; anything malformed, an empty or null itemIdentifier, or
 * one that is not a message of this batch fails the whole batch.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export function judgeBatchResponse(
  response: unknown,
  batchIds: ReadonlySet<string>,
): { verdict: BatchVerdict; failedIds: string[]; error?: unknown } {
  if (response === undefined || response === null) return { verdict: 'success', failedIds: [] };
  if (typeof response !== 'object') return invalid('response is not an object');
  const list = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return { verdict: 'success', failedIds: [] };
  if (!Array.isArray(list)) return invalid('batchItemFailures is not a list');
  if (list.length === 0) return { verdict: 'success', failedIds: [] };
  const failedIds: string[] = [];
  for (const item of list) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return invalid('batchItemFailures has an empty or missing itemIdentifier');
    if (!batchIds.has(id)) return invalid(`batchItemFailures names ${JSON.stringify(id)}, which is not in the batch`);
    failedIds.push(id);
  }
  return { verdict: 'partial', failedIds };
}

function invalid(reason: string): { verdict: BatchVerdict; failedIds: string[]; error: Error } {
  return { verdict: 'invalid-response', failedIds: [], error: new Error(`invalid batch response: ${reason}`) };
}

async function deleteRecords(options: SqsEventSourceOptions, records: SQSRecord[]): Promise<string[]> {
  const deleted: string[] = [];
  for (let i = 0; i < records.length; i += SQS_BATCH_LIMIT) {
    const chunk = records.slice(i, i + SQS_BATCH_LIMIT);
    try {
      const result = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
        }),
      );
      for (const ok of result.Successful ?? []) {
        const record = chunk[Number(ok.Id)];
        if (record) deleted.push(record.messageId);
      }
      if (result.Failed?.length) options.onError?.(new Error(`delete failed: ${JSON.stringify(result.Failed)}`), 'delete');
    } catch (err) {
      // The records come back after the visibility timeout; handlers are idempotent (invariant 2).
      options.onError?.(err, 'delete');
    }
  }
  return deleted;
}

/** One received SQS message in the shape Lambda gives a handler. */
export function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const a = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.AWSTraceHeader ? { AWSTraceHeader: a.AWSTraceHeader } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
    },
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** SQS's `{ StringValue, BinaryValue, DataType }` become Lambda's camel-cased, base64 form. */
function toLambdaMessageAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attributes ?? {})) {
    const b64 = (b: Uint8Array | string) => (typeof b === 'string' ? b : Buffer.from(b).toString('base64'));
    out[name] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: b64(v.BinaryValue) } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map(b64),
    };
  }
  return out;
}

function lambdaContext(options: SqsEventSourceOptions, deadline: number): Context {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = () => {
    throw new Error('callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: options.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${options.region}:000000000000:function:${options.functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

function pause(ms: number, stopping: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stopping.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stopping.removeEventListener('abort', done);
      resolve();
    }
    stopping.addEventListener('abort', done, { once: true });
  });
}
