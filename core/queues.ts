// Sending queue events: the contracts of core/contracts.ts onto SQS.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { inboundEventSchema, outboundEventSchema, type InboundEvent, type OutboundEvent } from './contracts.ts';
import { MAX_QUEUE_DELAY_SECONDS } from './outbound/policy.ts';

export class QueueSender {
  constructor(private readonly sqs: SQSClient) {}

  /** Validates before sending, so a bad event is a bug at the producer, not a poison message. */
  async sendInbound(queueUrl: string, event: InboundEvent): Promise<void> {
    const body = JSON.stringify(inboundEventSchema.parse(event));
    await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  }

  async sendOutbound(queueUrl: string, event: OutboundEvent, delaySeconds = 0): Promise<void> {
    const body = JSON.stringify(outboundEventSchema.parse(event));
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.floor(delaySeconds))) }),
    );
  }
}
