// DATA (RFC 5321 §4.1.1.4): the message streams into S3 behind the trace headers while its
// bytes are counted and checked (for submission also its From: and Sender:, read from the
// header as it passes), then the inbound event goes to SQS. Only then is it accepted
// (docs/ARCHITECTURE.md, invariant 1); every failure before that is a 4xx or 5xx and leaves no event.
import { randomBytes } from 'node:crypto';
import type { SMTPServerDataStream } from 'smtp-server';
import type { BlobStore } from '../core/blobs.ts';
import { rawBlobKey } from '../core/blobs.ts';
import type { InboundEvent } from '../core/contracts.ts';
import { SmtpError, temporaryFailure } from '../core/smtp-reply.ts';
import type { QueueSender } from '../core/queues.ts';
import type { BareLineFeedPolicy } from '../core/config.ts';
import { LineEndingFilter } from './line-endings.ts';
import type { ServiceLog } from '../core/log.ts';
import { traceHeaders, type TraceFacts } from './trace.ts';
import { SubmittedHeaderReader, MAX_SUBMITTED_HEADER_BYTES } from './submitted-header.ts';
import type { OriginatorFields } from './sending-policy.ts';
import { eventAuthentication, type MessageAuthentication } from './authentication.ts';
import { MIN_PART_BYTES } from '../core/held-head-upload.ts';
import { removeForeignResults } from './foreign-results.ts';

/** Random, URL-safe, 20 characters (120 bits): the queue id, blob name and idempotency key. */
export function newQueueId(): string {
  return randomBytes(15).toString('base64url');
}

export const DATA_REPLIES = {
  tooBig: (limit: number) => new SmtpError(552, '5.3.4', `Message exceeds fixed maximum message size ${limit}`),
  // RFC 5321 §2.3.8; Postfix answers the same condition with 5.5.2, we call it a content error
  bareLineEnding: (what: string) => new SmtpError(554, '5.6.0', `Message refused: ${what} in data, lines must end with CRLF`),
  headerTooLarge: () => new SmtpError(552, '5.3.4', `Message header section exceeds ${MAX_SUBMITTED_HEADER_BYTES} bytes`),
  // the MX reads the whole header from the part it holds back (core/held-head-upload.ts)
  inboundHeaderTooLarge: () => new SmtpError(552, '5.3.4', `Message header section exceeds ${MIN_PART_BYTES} bytes`),
  accepted: (id: string) => `2.0.0 Ok: queued as ${id}`,
};

export interface MessageFiling {
  readonly blobs: BlobStore;
  readonly queue: QueueSender;
  readonly inboundQueueUrl: string;
  readonly maxMessageBytes: number;
  /** What a line ending in a bare LF gets: stored as CRLF, or the message refused. */
  readonly bareLineFeeds: BareLineFeedPolicy;
  readonly log: ServiceLog;
}

export interface Transaction extends Omit<TraceFacts, 'id' | 'receivedAt' | 'recipients'> {
  /** Recipients in normal form, for the event. */
  readonly recipients: readonly string[];
  /** Recipients as the client wrote them, for the Received: `for` clause. */
  readonly traceRecipients: readonly string[];
  readonly authenticatedUser: string | null;
  /** The client's address, for the event; `remoteIp` (the trace's) may be withheld. */
  readonly clientIp: string;
  readonly sessionId: string;
  /** True once the client connection has closed. */
  isGone(): boolean;
  /**
   * Submission only: judges the message's From: and Sender: (rejecting with the SmtpError to
   * answer). Given, the header is read while it streams and untrusted trace fields are dropped
   * (smtp-edge/submitted-header.ts).
   */
  readonly checkOriginators?: (fields: OriginatorFields) => Promise<void>;
  /**
   * MX only: verifies the message as it streams (SPF, DKIM, DMARC, ARC) and judges it by the
   * recipient domains' settings (smtp-edge/authentication.ts). Submitted mail is not checked.
   */
  readonly authenticate?: (id: string) => MessageAuthentication;
}

export interface QueuedMessage {
  readonly id: string;
  readonly key: string;
  readonly size: number;
}

/** Resolves when the data stream ended normally; rejects if the client went away first. */
function endOfData(stream: SMTPServerDataStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.readableEnded) return resolve();
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', () => {
      if (!stream.readableEnded) reject(new Error('connection closed during DATA'));
    });
  });
}

/** Resolves once every writer that asked to be waited for can take more. */
function drainOf(drained: Array<() => Promise<void>>): Promise<void> {
  return Promise.all(drained.map((d) => d())).then(() => undefined);
}

/**
 * Reads the whole DATA stream (smtp-server needs it consumed before it replies), storing it
 * under `raw/YYYY/MM/DD/<id>.eml` with Return-Path and Received in front (and, from the MX,
 * the Authentication-Results the edge found: smtp-edge/authentication.ts). The first part of the
 * object is held until the end (core/held-head-upload.ts), so what goes on top can be decided
 * after the final dot without holding the whole message. A reason to refuse (too big, a bare CR
 * or LF the policy refuses, a sender the account may not use, an authentication verdict, S3
 * down) switches to discarding: the upload is aborted, the rest of the message is read and
 * dropped, and the reason is thrown once the client has sent it all.
 */
export async function receiveMessage(stream: SMTPServerDataStream, transaction: Transaction, filing: MessageFiling): Promise<QueuedMessage> {
  const id = newQueueId();
  const receivedAt = new Date();
  const key = rawBlobKey(id, receivedAt);
  const trace = traceHeaders({ ...transaction, id, receivedAt, recipients: transaction.traceRecipients });
  const lineEndings = new LineEndingFilter(filing.bareLineFeeds);
  let refusal: SmtpError | null = null;
  /** Client bytes stored (after line-ending normalisation and the submitted header's filter). */
  let size = 0;

  const upload = filing.blobs.startHeldHeadUpload(key, (err: unknown) => {
    if (refusal) return;
    filing.log.error('smtp.blob-put-failed', { id, key, err });
    refuse(temporaryFailure());
  });
  const authentication = transaction.authenticate?.(id) ?? null;
  const refuse = (reason: SmtpError) => {
    if (refusal) return;
    refusal = reason;
    void upload.abort(); // no object is completed
    authentication?.abandon();
    stream.resume();
  };

  const header = transaction.checkOriginators ? new SubmittedHeaderReader(transaction.hostname) : null;
  /** The originator check, started as soon as the header is complete; resolves to the refusal, if any. */
  let originatorVerdict: Promise<SmtpError | null> | null = null;
  const judgeOriginators = () => {
    if (originatorVerdict || !header?.originators || !transaction.checkOriginators) return;
    originatorVerdict = transaction.checkOriginators(header.originators).then(
      () => null,
      (err: unknown) => {
        if (err instanceof SmtpError) return err;
        filing.log.error('smtp.originator-check-failed', { id, err });
        return temporaryFailure();
      },
    );
  };
  const store = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    size += bytes.length;
    const waits: Array<() => Promise<void>> = [];
    if (!upload.write(bytes)) waits.push(() => upload.drained());
    if (authentication && !authentication.write(bytes)) waits.push(() => authentication.drained());
    if (waits.length > 0) {
      stream.pause();
      void drainOf(waits).then(() => stream.resume());
    }
  };
  stream.on('data', (chunk: Buffer) => {
    if (refusal) return;
    if (stream.sizeExceeded) return refuse(DATA_REPLIES.tooBig(filing.maxMessageBytes));
    const filtered = lineEndings.scan(chunk);
    if (filtered.problem) return refuse(DATA_REPLIES.bareLineEnding(filtered.problem));
    // The header reader sees the bytes as stored: lines already end in CRLF here.
    if (!header) return store(filtered.bytes);
    const step = header.push(filtered.bytes);
    if (step.kind === 'too-large') return refuse(DATA_REPLIES.headerTooLarge());
    store(step.bytes);
    judgeOriginators();
  });

  try {
    await endOfData(stream);
  } catch (err) {
    // the client went away mid-DATA: nothing is queued, the upload is abandoned
    refuse(temporaryFailure());
    await upload.abort();
    throw err;
  }
  if (!refusal && stream.sizeExceeded) refuse(DATA_REPLIES.tooBig(filing.maxMessageBytes));
  const lastProblem = lineEndings.finish();
  if (!refusal && lastProblem) refuse(DATA_REPLIES.bareLineEnding(lastProblem));
  if (!refusal && header) {
    store(header.finish());
    judgeOriginators();
  }
  // Nothing is completed before finish(), so a refused sender leaves no object behind.
  const originatorRefusal = refusal ? null : await originatorVerdict;
  if (!refusal && originatorRefusal) refuse(originatorRefusal);

  let resultsField = Buffer.alloc(0);
  let head: { bytes: Buffer; removed: number; spamVerdicts: number } | null = null;
  let authenticated: InboundEvent['authentication'];
  if (!refusal && authentication) {
    // RFC 8601 §5: fields claiming our host name came from outside; the head holds the header
    head = removeForeignResults(upload.heldHead, transaction.hostname, !upload.headComplete);
    if (!head) refuse(DATA_REPLIES.inboundHeaderTooLarge());
    else if (head.removed > 0) filing.log.warn('smtp.foreign-authentication-results-removed', { id, count: head.removed });
    if (head && head.spamVerdicts > 0) filing.log.info('smtp.foreign-spam-verdict-removed', { id, count: head.spamVerdicts });
  }
  if (!refusal && authentication) {
    const { results, verdict } = await authentication.finish(transaction.recipients);
    if (verdict.kind === 'refuse') refuse(verdict.reply);
    resultsField = Buffer.from(results.header, 'latin1');
    authenticated = eventAuthentication(results, verdict);
  }
  if (refusal) {
    await upload.abort();
    throw refusal;
  }
  // Return-Path stays first (RFC 5321 §4.4); the results go above our Received (RFC 8601 §5).
  const afterReturnPath = trace.indexOf('\r\n') + 2;
  const prefix = Buffer.concat([trace.subarray(0, afterReturnPath), resultsField, trace.subarray(afterReturnPath)]);
  try {
    const rewritten = head;
    await upload.finish(prefix, rewritten ? () => rewritten.bytes : undefined);
  } catch (err) {
    filing.log.error('smtp.blob-put-failed', { id, key, err });
    throw temporaryFailure();
  }
  size += prefix.length - (head ? upload.heldHeadBytes - head.bytes.length : 0);

  const event: InboundEvent = {
    version: 1,
    id,
    bucket: filing.blobs.bucket,
    key,
    size,
    receivedAt: receivedAt.toISOString(),
    mailFrom: transaction.mailFrom,
    rcptTo: [...transaction.recipients],
    remote: { ip: transaction.clientIp, helo: transaction.helo, tls: transaction.tls ? { ...transaction.tls } : null },
    authenticatedUser: transaction.authenticatedUser,
    ...(authenticated ? { authentication: authenticated } : {}),
  };
  if (transaction.isGone()) {
    // nobody is left to tell "250": the client will retry, so queueing now would only duplicate
    await orphan(filing, key, id, 'client-gone');
    throw new Error('connection closed before the message was queued');
  }
  try {
    await filing.queue.sendInbound(filing.inboundQueueUrl, event);
  } catch (err) {
    filing.log.error('smtp.inbound-event-failed', { id, key, err });
    await orphan(filing, key, id, 'queue-failed');
    throw temporaryFailure();
  }
  return { id, key, size };
}

/**
 * A stored blob without an event: tag it so the bucket lifecycle rule expires it. Best effort
 * (S3 may be what failed); an untagged orphan only costs storage and is logged for a sweep.
 */
async function orphan(filing: MessageFiling, key: string, id: string, reason: string): Promise<void> {
  try {
    await filing.blobs.markOrphan(key);
    filing.log.warn('smtp.blob-orphaned', { id, key, reason, tagged: true });
  } catch (err) {
    filing.log.warn('smtp.blob-orphaned', { id, key, reason, tagged: false, err });
  }
}
