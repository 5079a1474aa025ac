// Supervised component: the relay Lambda, run by the local SQS event source with the real
// handler (functions/relay/handler.ts) on the outbound queue, as AWS would run it.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { coreConfigFromEnv } from '../../core/config.ts';
import { createAwsClients } from '../../core/aws.ts';
import { FUNCTIONS } from '../../core/resources.ts';
import { startSqsEventSource, type SqsLambdaHandler } from '../runner.ts';
import { announceReady } from '../supervisor.ts';

/** The handler module, imported by URL so this file stands while the handler is being written. */
export const RELAY_HANDLER_MODULE = new URL('../../functions/relay/handler.ts', import.meta.url);

const log = (fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ level: 'INFO', service: 'relay-runner', timestamp: new Date().toISOString(), ...fields })}\n`);

const config = coreConfigFromEnv(process.env);
const clients = createAwsClients(config.aws);
const module = (await import(RELAY_HANDLER_MODULE.href)) as { handler?: SqsLambdaHandler };
if (typeof module.handler !== 'function') throw new Error(`${RELAY_HANDLER_MODULE.pathname} exports no handler`);

const queueUrl = config.resources.queues.outbound;
const attributes = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
const queueArn = attributes.Attributes?.QueueArn;
if (!queueArn) throw new Error(`no ARN for ${queueUrl}`);

const fn = FUNCTIONS.relay;
const source = startSqsEventSource({
  sqs: clients.sqs,
  queueUrl,
  queueArn,
  region: config.aws.region,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'mail-relay',
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

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Finish the batches in flight (their records would otherwise wait out the visibility timeout).
  await source.stop();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

announceReady({ queueUrl, queueArn });
