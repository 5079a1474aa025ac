// The MIME index of a message: computed once from the raw bytes when the message is
// filed, stored on the message item, and used by IMAP/POP3 to answer FETCH, TOP and
// BODY[section] with ranged reads of the blob instead of re-parsing it.
import type { DecodedLayout } from './transfer-decoding.ts';

/** An IMAP address structure (RFC 3501 §7.4.2); group syntax uses host = null. Strings are raw header text. */
export interface EnvelopeAddress {
  readonly name: string | null;
  readonly adl: string | null;
  readonly mailbox: string | null;
  readonly host: string | null;
}

/** RFC 3501 ENVELOPE fields, as the raw (undecoded, unfolded) header values. */
export interface Envelope {
  readonly date: string | null;
  readonly subject: string | null;
  readonly from: EnvelopeAddress[] | null;
  readonly sender: EnvelopeAddress[] | null;
  readonly replyTo: EnvelopeAddress[] | null;
  readonly to: EnvelopeAddress[] | null;
  readonly cc: EnvelopeAddress[] | null;
  readonly bcc: EnvelopeAddress[] | null;
  readonly inReplyTo: string | null;
  readonly messageId: string | null;
}

/** Byte offsets into the raw blob, half-open [start, end). */
export interface PartOffsets {
  /** First byte of this part's header block (for the root: 0). */
  readonly headerStart: number;
  /** First byte of the body, after the blank line ending the header (= headerStart if no header). */
  readonly bodyStart: number;
  /** One past the last byte of the body (excluding the CRLF that precedes a boundary). */
  readonly end: number;
}

interface PartCommon {
  readonly offsets: PartOffsets;
  /** Lowercased media type and subtype, e.g. 'text', 'plain'. */
  readonly type: string;
  readonly subtype: string;
  /** Content-Type parameters in order, names lowercased, values decoded from RFC 2231 continuations. */
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly disposition: { readonly type: string; readonly params: ReadonlyArray<readonly [string, string]> } | null;
  readonly language: string[] | null;
  readonly location: string | null;
}

export interface MultipartPart extends PartCommon {
  readonly kind: 'multipart';
  readonly parts: BodyPart[];
}

export interface SinglePart extends PartCommon {
  readonly kind: 'single';
  readonly id: string | null;
  readonly description: string | null;
  /** Content-Transfer-Encoding as given (uppercase by convention when rendered), default '7BIT'. */
  readonly encoding: string;
  /** Body size in octets (end - bodyStart). */
  readonly size: number;
  /** Line count of the body, for text/* and message/rfc822. */
  readonly lines: number | null;
  readonly md5: string | null;
  /**
   * Base64 and quoted-printable parts: the decoded size, and for regular base64 its line length
   * (core/mime/transfer-decoding.ts), so IMAP BINARY reads only the lines a range needs. Absent in
   * items indexed before it was recorded: BINARY then decodes the whole part.
   */
  readonly decoded?: DecodedLayout;
  /** For message/rfc822 (and message/global): the encapsulated message. */
  readonly message?: { readonly envelope: Envelope; readonly body: BodyPart };
}

export type BodyPart = MultipartPart | SinglePart;

export interface MessageIndex {
  /** Bump when the indexer changes in a way stored items must be recomputed for. */
  readonly indexVersion: number;
  readonly envelope: Envelope;
  readonly body: BodyPart;
  /** Total size in octets of the raw message (RFC822.SIZE). */
  readonly size: number;
  /** True when the structure could not be parsed and the message was indexed as one text/plain part. */
  readonly fallback: boolean;
}
