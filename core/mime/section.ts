// Resolves IMAP section specifiers (RFC 3501 §6.4.5) to parts of the index and to byte
// ranges of the raw blob, so BODY[...] and BINARY[...] are served with one ranged read.

import type { BodyPart, MessageIndex } from './types.ts';

/**
 * The part a section path names, or null if there is none. Numbering follows RFC 3501
 * §6.4.5: the parts of a multipart are 1..n; a non-multipart body is part 1 of its
 * message; the parts of an encapsulated message/rfc822 are numbered as if it were a
 * message of its own (so 2.1 is the body of a non-multipart message in part 2, and 2.3
 * the third part of a multipart message in part 2). The empty path names the whole body.
 */
export function findPart(body: BodyPart, sectionPath: readonly number[]): BodyPart | null {
  let scope: BodyPart | null = body;
  let part: BodyPart = body;
  for (const number of sectionPath) {
    if (!scope || !Number.isInteger(number) || number < 1) return null;
    if (scope.kind === 'multipart') {
      const child: BodyPart | undefined = scope.parts[number - 1];
      if (!child) return null;
      part = child;
    } else {
      if (number !== 1) return null;
      part = scope;
    }
    // Where the next number points: into a multipart's children, or into the message a
    // message/rfc822 part encapsulates; any other leaf has no sub-parts.
    if (part.kind === 'multipart') scope = part;
    else scope = part.message ? part.message.body : null;
  }
  return part;
}

/** A section: the part path plus what of it is wanted. */
export interface SectionSpec {
  readonly part: readonly number[];
  /**
   * 'body': BODY[] (empty path) or BODY[1.2] — the part's content without its MIME header;
   * 'header' / 'text': the header (blank line included) or the body of the message at that
   * path (HEADER.FIELDS filtering happens on the 'header' range);
   * 'mime': the MIME header of a numbered part.
   */
  readonly kind: 'body' | 'header' | 'text' | 'mime';
}

/** Half-open byte range [start, end) of the raw blob. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The bytes a section refers to, or null when the section does not exist (the IMAP
 * server then answers with an empty string, as RFC 3501 §6.4.5 servers commonly do).
 */
export function sectionRange(index: MessageIndex, spec: SectionSpec): ByteRange | null {
  const { part: path, kind } = spec;
  if (path.length === 0) {
    const root = index.body.offsets;
    switch (kind) {
      case 'body':
        return { start: 0, end: index.size };
      case 'header':
        return { start: root.headerStart, end: root.bodyStart };
      case 'text':
        return { start: root.bodyStart, end: root.end };
      case 'mime':
        return null; // RFC 3501 §6.4.5: MIME needs a part number.
    }
  }
  const part = findPart(index.body, path);
  if (!part) return null;
  switch (kind) {
    case 'body':
      return { start: part.offsets.bodyStart, end: part.offsets.end };
    case 'mime':
      return { start: part.offsets.headerStart, end: part.offsets.bodyStart };
    case 'header':
    case 'text': {
      // HEADER and TEXT after a part number are only defined for message/rfc822 parts.
      if (part.kind !== 'single' || !part.message) return null;
      const inner = part.message.body.offsets;
      return kind === 'header' ? { start: inner.headerStart, end: inner.bodyStart } : { start: inner.bodyStart, end: inner.end };
    }
  }
}
