// Runs one Lambda function of ours the way its SQS event source mapping does in AWS: the real
// handler module, on its queue, with the batch size, window and timeout of core/resources.ts.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { coreConfigFromEnv } from '../../core/config.ts';
import { createAwsClients } from '../../core/aws.ts';
import { FUNCTIONS, type QueueName } from '../../core/resources.ts';
import { startSqsEventSource, type SqsLambdaHandler } from '../runner.ts';
import { jsonLog } from '../../core/log.ts';
import { announceReady, drainOnSignals } from '../../core/service-process.ts';

export interface QueueFunction {
  /** Component name, also the `service` of its log lines. */
  readonly component: string;
  /** The handler module, imported by URL so the runner stands while the handler is being written. */
  readonly handlerModule: URL;
  readonly queue: QueueName;
  readonly settings: (typeof FUNCTIONS)[keyof typeof FUNCTIONS];
  /** Lambda's function name when AWS_LAMBDA_FUNCTION_NAME is not set. */
  readonly functionName: string;
}

/** Starts the event source, announces readiness, and drains on SIGTERM/SIGINT. */
export async function runQueueFunction(spec: QueueFunction): Promise<void> {
  const log = (fields: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ level: 'INFO', service: spec.component, timestamp: new Date().toISOString(), ...fields })}\n`);

  const config = coreConfigFromEnv(process.env);
  const clients = createAwsClients(config.aws);
  const module = (await import(spec.handlerModule.href)) as { handler?: SqsLambdaHandler };
  if (typeof module.handler !== 'function') throw new Error(`${spec.handlerModule.pathname} exports no handler`);

  const queueUrl = config.resources.queues[spec.queue];
  const attributes = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attributes.Attributes?.QueueArn;
  if (!queueArn) throw new Error(`no ARN for ${queueUrl}`);

  const fn = spec.settings;
  const source = startSqsEventSource({
    sqs: clients.sqs,
    queueUrl,
    queueArn,
    region: config.aws.region,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? spec.functionName,
    handler: module.handler,
    batchSize: Number(process.env.RUNNER_BATCH_SIZE ?? fn.batchSize),
    maxBatchingWindowSeconds: Number(process.env.RUNNER_BATCHING_WINDOW_SECONDS ?? fn.maxBatchingWindowSeconds),
    timeoutSeconds: Number(process.env.RUNNER_TIMEOUT_SECONDS ?? fn.timeoutSeconds),
    concurrency: Number(process.env.RUNNER_CONCURRENCY ?? 2),
    // Short long polls: a stop (Ctrl-C, restart) waits for them to end, and after a SIGKILL the
    // emulator's orphaned poll (which may swallow a record for a visibility timeout) lives no longer.
    waitTimeSeconds: Number(process.env.RUNNER_WAIT_TIME_SECONDS ?? 2),
    onBatch: (o) =>
      log({
        ...(o.verdict === 'success' || o.verdict === 'partial' ? {} : { level: 'WARN' }),
        message: 'batch settled',
        awsRequestId: o.awsRequestId,
        verdict: o.verdict,
        records: o.messageIds.length,
        deleted: o.deleted.length,
        retried: o.retried,
        durationMs: o.durationMs,
        ...(o.error === undefined ? {} : { error: o.error instanceof Error ? o.error.message : String(o.error) }),
      }),
    onError: (err, during) => log({ level: 'ERROR', message: `${during} failed`, error: err instanceof Error ? err.message : String(err) }),
  });

  // Finish the batches in flight (their records would otherwise wait out the visibility timeout).
  drainOnSignals(jsonLog((line) => process.stdout.write(line), spec.component), () => source.stop());

  announceReady({ queueUrl, queueArn });
}
