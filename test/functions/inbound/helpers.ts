// Shared pieces of the inbound tests: events with their blobs in S3, SQS records, and a
// telemetry recorder standing in for Powertools' Logger and Metrics.
import { randomBytes } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { BlobStore, rawBlobKey } from '../../../core/blobs.ts';
import type { InboundEvent } from '../../../core/contracts.ts';
import { QueueSender } from '../../../core/queues.ts';
import { createStore, type Store } from '../../../core/store/index.ts';
import { OutboundQueueStore } from '../../../core/outbound/queue-store.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import type { InboundDeps, InboundMetric } from '../../../functions/inbound/file-inbound.ts';
import { composeJunkFiling } from '../../../functions/inbound/compose.ts';
import type { TestWorld } from '../../helpers/emulators.ts';

export class Telemetry {
  readonly logs: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  readonly counts = new Map<InboundMetric, number>();
  readonly logger = {
    info: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'info', message, fields }),
    warn: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'warn', message, fields }),
    error: (message: string, fields: Record<string, unknown>) => this.logs.push({ level: 'error', message, fields }),
  };
  readonly metrics = {
    addMetric: (name: InboundMetric, _unit: 'Count', value: number) => this.counts.set(name, (this.counts.get(name) ?? 0) + value),
  };
  count(name: InboundMetric): number {
    return this.counts.get(name) ?? 0;
  }
}

export interface InboundRig {
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly telemetry: Telemetry;
  readonly deps: InboundDeps;
}

export function inboundRig(world: TestWorld, overrides: Partial<InboundDeps> = {}): InboundRig {
  const store = createStore(world.clients, world.config.resources);
  const blobs = new BlobStore(world.clients.s3, world.config.resources.bucket);
  const telemetry = new Telemetry();
  const deps: InboundDeps = {
    directory: store.directory,
    store: store.mailStore,
    blobs,
    indexMessage,
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    outbound: {
      records: new OutboundQueueStore(world.clients.doc, world.config.resources.tables.deliveries),
      queue: new QueueSender(world.clients.sqs),
      queueUrl: world.config.resources.queues.outbound,
      blobRefs: store.blobRefs,
    },
    junk: composeJunkFiling(world.clients.doc, world.config.resources.tables, world.config.mail.hostname),
    ...overrides,
  };
  return { store, blobs, telemetry, deps };
}

/** A unique domain per test, so tests sharing one world never see each other's accounts. */
export const uniqueDomain = () => `d${randomBytes(4).toString('hex')}.test`;

/** Puts `raw` in S3 as the edge would and returns the matching inbound event. */
export async function storedEvent(blobs: BlobStore, raw: Buffer, rcptTo: string[], overrides: Partial<InboundEvent> = {}): Promise<InboundEvent> {
  const id = randomBytes(12).toString('hex');
  const receivedAt = new Date('2026-11-20T10:15:30.000Z');
  const key = rawBlobKey(id, receivedAt);
  await blobs.put(key, raw);
  return {
    version: 1,
    id,
    bucket: blobs.bucket,
    key,
    size: raw.length,
    receivedAt: receivedAt.toISOString(),
    mailFrom: 'sender@elsewhere.example',
    rcptTo,
    remote: { ip: '192.0.2.7', helo: 'mx.elsewhere.example', tls: null },
    authenticatedUser: null,
    ...overrides,
  };
}

let recordCounter = 0;
export function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  const messageId = `msg-${++recordCounter}-${randomBytes(4).toString('hex')}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mailtest-inbound',
    awsRegion: 'us-east-1',
  };
}

/** A two-part message with CRLF line ends, an encoded-word subject and a base64 attachment. */
export function sampleMessage(subject = '=?UTF-8?B?R3LDvMOfIGF1cyBCZXJsaW4=?='): Buffer {
  return Buffer.from(
    [
      'Return-Path: <sender@elsewhere.example>',
      'From: "Ann Sender" <sender@elsewhere.example>',
      'To: demo@example.test',
      `Subject: ${subject}`,
      'Date: Fri, 20 Nov 2026 10:15:00 +0000',
      'Message-ID: <abc123@elsewhere.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      'preamble',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello, this is the text part.',
      '--b1',
      'Content-Type: application/octet-stream; name="a.bin"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="a.bin"',
      '',
      'AAECAwQFBgc=',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}
