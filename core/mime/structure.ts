// Builds BODYSTRUCTURE data (RFC 3501 §7.4.2) with exact byte offsets for every MIME
// entity of a raw message, recursing into multiparts and encapsulated messages.

import { clip, countLines, headerText } from './bytes.ts';
import { buildEnvelope } from './envelope.ts';
import { readHeader } from './header.ts';
import {
  MAX_DEPTH, MIN_NESTED_ENVELOPE_BYTES, NESTED_ENVELOPE_BYTES, chargePart, type IndexBudget,
} from './limits.ts';
import { splitMultipart } from './multipart.ts';
import { boundaryBytes, isToken, parseParameterised, skipComment, type Param } from './params.ts';
import type { BodyPart, MultipartPart, PartOffsets, SinglePart } from './types.ts';
import { decodedLayout, transferEncoding } from './transfer-decoding.ts';

interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: Param[];
}

/** RFC 2045 §5.2: no (or an unreadable) Content-Type means text/plain; charset=us-ascii. */
const TEXT_PLAIN: MediaType = { type: 'text', subtype: 'plain', params: [['charset', 'us-ascii']] };
/** RFC 2046 §5.1.5: in a multipart/digest the default part type is message/rfc822. */
const MESSAGE_RFC822: MediaType = { type: 'message', subtype: 'rfc822', params: [] };

/** Strings in the lean form of a part, used when the full one would not fit the budget. */
const LEAN_STRING = 100;
const LEAN_PARAMS = 4;
/** Room held back by a multipart for the synthetic part it needs when no boundary is found. */
const SYNTHETIC_PART_RESERVE = 400;
/** A part whose full extension data is larger than this is stored lean, so one part cannot starve the rest. */
const MAX_FULL_PART_BYTES = 8 * 1024;

interface IndexContext {
  readonly raw: Buffer;
  readonly budget: IndexBudget;
}

function mediaTypeOf(contentType: string | undefined, fallback: MediaType): MediaType {
  if (contentType === undefined) return fallback;
  const parsed = parseParameterised(contentType);
  const slash = parsed.value.indexOf('/');
  const type = parsed.value.slice(0, slash);
  const subtype = parsed.value.slice(slash + 1);
  if (slash < 0 || !isToken(type) || !isToken(subtype)) return TEXT_PLAIN;
  return { type, subtype, params: parsed.params };
}

/** Content-Transfer-Encoding without comments (RFC 2045 §6.1), RFC 2045 default 7bit. */
function encodingOf(value: string | undefined): string {
  if (value === undefined) return '7BIT';
  let token = '';
  for (let p = 0; p < value.length; ) {
    if (value[p] === '(') p = skipComment(value, p);
    else {
      if (value[p] !== ' ' && value[p] !== '\t') token += value[p];
      p++;
    }
  }
  return token ? clip(headerText(token), 64) : '7BIT';
}

/** Content-Language (RFC 3282): a comma-separated list of language tags. */
function languagesOf(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const tags = value
    .replace(/\([^()]*\)/g, '')
    .split(',')
    .map((tag) => headerText(tag).replace(/[\s]+/g, ''))
    .filter((tag) => tag.length > 0)
    .slice(0, 16)
    .map((tag) => clip(tag, 64));
  return tags.length > 0 ? tags : null;
}

function optionalText(value: string | undefined, max: number): string | null {
  return value ? clip(headerText(value), max) : null;
}

/** A part's JSON size as it will be stored, plus a little for the array/object punctuation around it. */
function storedSize(part: object): number {
  return JSON.stringify(part).length + 16;
}

/** The cut-down form of a part's extension data, kept when the full form would not fit. */
function leanParams(params: ReadonlyArray<Param>): Param[] {
  return params.slice(0, LEAN_PARAMS).map(([name, value]) => [name, clip(value, LEAN_STRING)] as const);
}

function leanStrings<T extends Omit<LeafBase, 'offsets' | 'type' | 'subtype'>>(part: T): T {
  return {
    ...part,
    params: leanParams(part.params),
    disposition: part.disposition && { type: clip(part.disposition.type, LEAN_STRING), params: leanParams(part.disposition.params) },
    language: part.language && part.language.slice(0, 2),
    location: part.location && clip(part.location, LEAN_STRING),
  };
}

/**
 * Spends the budget on a part: the full form if it fits, else the lean form, else
 * nothing (null) — unless `force`, for the one part a message cannot do without.
 */
function admit<T extends object>(ctx: IndexContext, full: T, lean: () => T, extra: number, force: boolean): T | null {
  const fullSize = storedSize(full) + extra;
  if (fullSize <= MAX_FULL_PART_BYTES && chargePart(ctx.budget, fullSize)) return full;
  const leaner = lean();
  return chargePart(ctx.budget, storedSize(leaner) + extra, force) ? leaner : null;
}

/**
 * Indexes the MIME entity in [start, end): its header, and its body as a multipart, an
 * encapsulated message or a leaf. Returns null when the budget cannot take another part.
 */
function indexEntity(ctx: IndexContext, start: number, end: number, depth: number, defaultType: MediaType, force: boolean): BodyPart | null {
  const { raw } = ctx;
  const header = readHeader(raw, start, end);
  const fields = header.fields;
  const offsets: PartOffsets = { headerStart: start, bodyStart: header.bodyStart, end };
  let media = mediaTypeOf(fields.get('content-type'), defaultType);
  const disposition = fields.get('content-disposition');
  const parsedDisposition = disposition === undefined ? null : parseParameterised(disposition);
  const common = {
    offsets,
    type: media.type,
    subtype: media.subtype,
    params: media.params,
    disposition: parsedDisposition && parsedDisposition.value
      ? { type: clip(parsedDisposition.value, 256), params: parsedDisposition.params }
      : null,
    language: languagesOf(fields.get('content-language')),
    location: optionalText(fields.get('content-location'), 998),
  };

  const boundary = media.type === 'multipart' ? boundaryBytes(fields.get('content-type') ?? '') : null;
  if (media.type === 'multipart' && depth < MAX_DEPTH) {
    const shell: MultipartPart = { ...common, kind: 'multipart', parts: [] };
    const multipart = admit(ctx, shell, () => leanStrings(shell), SYNTHETIC_PART_RESERVE, force);
    if (!multipart) return null;
    const childDefault = media.subtype === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN;
    const split = boundary
      ? splitMultipart(raw, header.bodyStart, end, boundary, Math.max(1, ctx.budget.partsLeft))
      : { parts: [], closed: false };
    for (const range of split.parts) {
      const child = indexEntity(ctx, range.start, range.end, depth + 1, childDefault, false);
      if (!child) break;
      multipart.parts.push(child);
    }
    if (multipart.parts.length === 0) {
      // IMAP needs at least one part in a multipart (RFC 3501 §9 body-type-mpart), and a
      // multipart whose boundary never appears still has content: expose the whole body
      // as one header-less text/plain part, paid for by the reserve taken above.
      ctx.budget.partsLeft--;
      multipart.parts.push(leafPart(ctx, {
        offsets: { headerStart: header.bodyStart, bodyStart: header.bodyStart, end },
        ...TEXT_PLAIN, disposition: null, language: null, location: null,
      }, new Map()));
    }
    return multipart;
  }

  if (media.type === 'multipart') {
    // Too deep to follow: an opaque leaf, typed so no client mistakes it for a multipart.
    media = { type: 'application', subtype: 'octet-stream', params: media.params };
  }
  const leaf = leafPart(ctx, { ...common, type: media.type, subtype: media.subtype }, fields);
  const isMessage = leaf.type === 'message' && (leaf.subtype === 'rfc822' || leaf.subtype === 'global');
  const admitted = admit(ctx, leaf, () => ({ ...leanStrings(leaf), id: leaf.id && clip(leaf.id, LEAN_STRING), description: null, md5: null }), 0, force);
  if (!admitted || !isMessage || depth >= MAX_DEPTH) return admitted;

  // RFC 2046 §5.2.1: message/rfc822 may only be 7bit, 8bit or binary. When it is encoded
  // anyway the encapsulated message cannot be read in place, so it stays a leaf without
  // an envelope (the IMAP writer then renders it as a basic body).
  if (!['7bit', '8bit', 'binary'].includes(admitted.encoding.toLowerCase())) return admitted;
  const allowance = Math.min(NESTED_ENVELOPE_BYTES, Math.floor(ctx.budget.bytesLeft / 4));
  if (allowance < MIN_NESTED_ENVELOPE_BYTES) return admitted;
  const nested = readHeader(raw, offsets.bodyStart, end);
  const envelope = buildEnvelope(nested.fields, allowance);
  // The envelope is paid for before the body is indexed, so the body cannot overspend.
  const envelopeSize = JSON.stringify(envelope).length + 40;
  ctx.budget.bytesLeft -= envelopeSize;
  const body = indexEntity(ctx, offsets.bodyStart, end, depth + 1, TEXT_PLAIN, false);
  if (!body) {
    ctx.budget.bytesLeft += envelopeSize;
    return admitted;
  }
  return { ...admitted, message: { envelope, body } };
}

type LeafBase = Omit<SinglePart, 'kind' | 'id' | 'description' | 'encoding' | 'size' | 'lines' | 'md5' | 'message'>;

function leafPart(ctx: IndexContext, base: LeafBase, fields: ReadonlyMap<string, string>): SinglePart {
  const { bodyStart, end } = base.offsets;
  const counted = base.type === 'text' || (base.type === 'message' && (base.subtype === 'rfc822' || base.subtype === 'global'));
  const encoding = encodingOf(fields.get('content-transfer-encoding'));
  const mechanism = transferEncoding(encoding);
  const decoded = mechanism === 'base64' || mechanism === 'quoted-printable' ? decodedLayout(ctx.raw, bodyStart, end, encoding) : null;
  return {
    ...base,
    kind: 'single',
    id: optionalText(fields.get('content-id'), 998),
    description: optionalText(fields.get('content-description'), 998),
    encoding,
    size: end - bodyStart,
    lines: counted ? countLines(ctx.raw, bodyStart, end) : null,
    md5: optionalText(fields.get('content-md5'), 64),
    ...(decoded ? { decoded } : {}),
  };
}

/** Indexes a whole message's body structure; the root part is always produced. */
export function indexBody(raw: Buffer, budget: IndexBudget): BodyPart {
  return indexEntity({ raw, budget }, 0, raw.length, 0, TEXT_PLAIN, true)!;
}

/** The root message as one header-less text/plain part: the answer when nothing else works. */
export function opaqueBody(raw: Buffer): SinglePart {
  return {
    offsets: { headerStart: 0, bodyStart: 0, end: raw.length },
    ...TEXT_PLAIN,
    disposition: null,
    language: null,
    location: null,
    kind: 'single',
    id: null,
    description: null,
    encoding: '7BIT',
    size: raw.length,
    lines: countLines(raw, 0, raw.length),
    md5: null,
  };
}
