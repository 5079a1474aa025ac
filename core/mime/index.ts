// The MIME indexer's public surface: index a raw message once, then answer FETCH
// BODYSTRUCTURE / ENVELOPE / BODY[section] and POP3 TOP from the stored index.

import { buildEnvelope } from './envelope.ts';
import { readHeader } from './header.ts';
import { ROOT_ENVELOPE_BYTES, newBudget } from './limits.ts';
import { indexBody, opaqueBody } from './structure.ts';
import type { Envelope, MessageIndex } from './types.ts';

export type * from './types.ts';
export { findPart, sectionRange, type ByteRange, type SectionSpec } from './section.ts';
export { MAX_DEPTH, MAX_INDEX_BYTES, MAX_PARTS } from './limits.ts';

/**
 * Bump when the index format or parsing rules change. Stored with every index so a reader can
 * tell one written under older rules; nothing recomputes old indexes yet (that needs the blob).
 */
export const INDEX_VERSION = 1;

const EMPTY_ENVELOPE: Envelope = {
  date: null, subject: null, from: null, sender: null, replyTo: null,
  to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
};

/**
 * Indexes a raw message (RFC 5322 + MIME). Never throws: hostile input gives a usable,
 * bounded index, and if parsing fails outright the message becomes one text/plain part
 * with `fallback: true`.
 */
export function indexMessage(raw: Buffer): MessageIndex {
  try {
    const envelope = buildEnvelope(readHeader(raw, 0, raw.length).fields, ROOT_ENVELOPE_BYTES);
    const body = indexBody(raw, newBudget());
    return { indexVersion: INDEX_VERSION, envelope, body, size: raw.length, fallback: false };
  } catch {
    return fallbackIndex(raw);
  }
}

/** The index of a message whose structure could not be parsed: all of it as one text/plain part. */
export function fallbackIndex(raw: Buffer): MessageIndex {
  return { indexVersion: INDEX_VERSION, envelope: EMPTY_ENVELOPE, body: opaqueBody(raw), size: raw.length, fallback: true };
}
