// Queue event contracts (SQS bodies), versioned and validated at every consumer.
import { z } from 'zod';

const isoDate = z.string().datetime({ offset: true });

export const inboundEventSchema = z.object({
  version: z.literal(1),
  /** The edge's queue id for this message; also the idempotency key with each recipient. */
  id: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
  bucket: z.string().min(3),
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  receivedAt: isoDate,
  /** Envelope sender; '' for the null reverse-path `<>`. */
  mailFrom: z.string().max(512),
  rcptTo: z.array(z.string().min(3).max(512)).min(1).max(1000),
  remote: z.object({
    ip: z.string(),
    helo: z.string().max(512),
    tls: z.object({ protocol: z.string(), cipher: z.string() }).nullable(),
  }),
  /** Account that authenticated the session (submission), or null. */
  authenticatedUser: z.string().nullable(),
  /**
   * What the MX found verifying the message (docs/decisions/0014-inbound-authentication.md); the
   * same results head the stored message as Authentication-Results. Absent for submitted mail
   * and in events from before verification existed.
   */
  authentication: z.object({
    /** File into the recipients' Junk (special use \Junk) instead of INBOX. */
    quarantine: z.boolean(),
    /** Why it is quarantined: dmarc-quarantine, dmarc-reject, own-domain-forgery, own-domain-temperror. */
    reason: z.string().max(64).nullable(),
    spf: z.string().max(16),
    dkim: z.string().max(16),
    dmarc: z.string().max(16),
    arc: z.string().max(16),
  }).optional(),
});
export type InboundEvent = z.infer<typeof inboundEventSchema>;

export const outboundEventSchema = z.object({
  version: z.literal(1),
  id: z.string().min(8).max(128),
  inboundId: z.string(),
  bucket: z.string().min(3),
  key: z.string().min(1),
  mailFrom: z.string().max(512),
  /** Recipients of one destination domain. */
  domain: z.string().min(1),
  recipients: z.array(z.string()).min(1),
  firstAttemptAt: isoDate,
  attempts: z.array(z.object({ at: isoDate, error: z.string(), recipients: z.array(z.string()) })),
  /**
   * Generation of this delivery's queue copy (the outbound record's `sequence`): a copy older
   * than the record is stale (a redelivered or superseded message) and is dropped. Absent = 0.
   */
  sequence: z.number().int().nonnegative().optional(),
  /** Not to be attempted before this time: SQS delays at most 900 s, so longer waits re-delay. */
  notBefore: isoDate.optional(),
  /** The delay warning DSN has been sent (it goes once per delivery). */
  delayWarned: z.boolean().optional(),
  /**
   * The account that submitted the message (the inbound event's authenticatedUser): the relay
   * signs with that account's domain key and no other. Null or absent for mail that came from
   * outside (alias forwards) and for the relay's own reports: those are not signed.
   */
  authenticatedUser: z.string().nullable().optional(),
  /**
   * For a forward: the local address it came through (the alias, or the SRS address a reply or
   * bounce came back to). The relay sends it as that address where the next hop takes only a
   * From: of ours (functions/relay/forwarded-from.ts). Absent on submitted mail and on reports.
   */
  forwardedBy: z.string().max(512).optional(),
});
export type OutboundEvent = z.infer<typeof outboundEventSchema>;

export class InvalidEventError extends Error {}

/** Parses an SQS body as JSON and validates it; throws InvalidEventError (the message belongs in the DLQ). */
export function parseEvent<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError('event body is not JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new InvalidEventError(`invalid event: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}
