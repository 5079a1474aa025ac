// Shared helpers for the MIME indexer tests: fixture loading and byte-range slicing.

import { readFileSync } from 'node:fs';
import type { BodyPart, MultipartPart, SinglePart } from '../../../core/mime/index.ts';

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/mime/${name}`, import.meta.url));
}

/** Builds a CRLF message from lines. */
export function crlf(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

export function slice(raw: Buffer, start: number, end: number): string {
  return raw.toString('latin1', start, end);
}

export function headerOf(raw: Buffer, part: BodyPart): string {
  return slice(raw, part.offsets.headerStart, part.offsets.bodyStart);
}

export function bodyOf(raw: Buffer, part: BodyPart): string {
  return slice(raw, part.offsets.bodyStart, part.offsets.end);
}

export function asMultipart(part: BodyPart | undefined): MultipartPart {
  if (!part || part.kind !== 'multipart') throw new Error(`expected a multipart, got ${part?.kind}`);
  return part;
}

export function asSingle(part: BodyPart | undefined): SinglePart {
  if (!part || part.kind !== 'single') throw new Error(`expected a single part, got ${part?.kind}`);
  return part;
}

/** Every part of a body tree, encapsulated messages included, depth first. */
export function allParts(part: BodyPart): BodyPart[] {
  const out: BodyPart[] = [part];
  if (part.kind === 'multipart') for (const child of part.parts) out.push(...allParts(child));
  else if (part.message) out.push(...allParts(part.message.body));
  return out;
}
