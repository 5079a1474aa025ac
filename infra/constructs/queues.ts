// The inbound and outbound queues with their dead-letter queues, generated from core's definitions.
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FUNCTIONS, QUEUES, type QueueName, physicalQueueName } from '../../core/resources.ts';

export interface QueuesProps { readonly prefix: string }

export interface QueuePair { readonly queue: sqs.Queue; readonly deadLetterQueue: sqs.Queue }

/** Which function consumes each queue (its timeout bounds the queue's visibility timeout). */
export const CONSUMER_OF: Record<QueueName, keyof typeof FUNCTIONS> = { inbound: 'inbound', outbound: 'relay' };

/** AWS guidance: a queue's visibility timeout is at least six times its consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export class Queues extends Construct {
  readonly queues: Record<QueueName, QueuePair>;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);
    this.queues = Object.fromEntries(Object.values(QUEUES).map((definition) => {
      const consumerTimeout = FUNCTIONS[CONSUMER_OF[definition.id]].timeoutSeconds;
      if (definition.visibilityTimeoutSeconds < VISIBILITY_TIMEOUT_FACTOR * consumerTimeout) {
        throw new Error(`queue ${definition.id}: visibility timeout ${definition.visibilityTimeoutSeconds}s is below ${VISIBILITY_TIMEOUT_FACTOR}x the function timeout ${consumerTimeout}s`);
      }
      const deadLetterQueue = new sqs.Queue(this, `${definition.id}-dlq`, {
        queueName: physicalQueueName(props.prefix, definition.id, true),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.seconds(definition.dlqRetentionSeconds),
      });
      const queue = new sqs.Queue(this, definition.id, {
        queueName: physicalQueueName(props.prefix, definition.id),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
        retentionPeriod: Duration.seconds(definition.retentionSeconds),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
      });
      return [definition.id, { queue, deadLetterQueue }];
    })) as Record<QueueName, QueuePair>;
  }
}
