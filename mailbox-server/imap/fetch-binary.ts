// RFC 3516 BINARY[part]<partial> and BINARY.SIZE[part]: a part's content after content-transfer-
// decoding. Regular base64 with a recorded layout (core/mime/transfer-decoding.ts) is served by
// reading only the encoded lines a range needs; anything else reads the part alone and decodes it.
import type { MessageItem } from '../../core/store/types.ts';
import { findPart, type BodyPart } from '../../core/mime/index.ts';
import { base64Window, decodeBase64, decodeTransfer, transferEncoding, type TransferEncoding } from '../../core/mime/transfer-decoding.ts';
import { no } from './errors.ts';
import { ComputedLiteral, type BlobReader } from './fetch-literals.ts';

type Partial = { readonly offset: number; readonly length: number } | null;

interface BinarySource {
  readonly part: BodyPart | null;
  /** The part's encoded content in the blob. */
  readonly start: number;
  readonly end: number;
  readonly encoding: TransferEncoding;
}

/** The part and its encoding; NO [UNKNOWN-CTE] when it cannot be decoded (RFC 3516 §4.1). */
function sourceOf(message: MessageItem, path: readonly number[]): BinarySource | null {
  // BINARY[] is the whole message; a multipart or message part carries no transfer encoding of its own.
  if (path.length === 0) return { part: null, start: 0, end: message.index.size, encoding: 'identity' };
  const part = findPart(message.index.body, path);
  if (!part) return null;
  const { bodyStart, end } = part.offsets;
  if (part.kind === 'multipart') return { part, start: bodyStart, end, encoding: 'identity' };
  const encoding = transferEncoding(part.encoding);
  if (!encoding) throw no(`Cannot decode content-transfer-encoding ${part.encoding.slice(0, 40)} of part ${path.join('.')}`, 'UNKNOWN-CTE');
  return { part, start: bodyStart, end, encoding };
}

/** The octets of a decoded range: only the needed lines of regular base64, otherwise the part decoded whole. */
async function decodedRange(blobs: BlobReader, key: string, source: BinarySource, partial: Partial): Promise<Buffer> {
  const { part, start, end, encoding } = source;
  if (end <= start) return Buffer.alloc(0);
  if (encoding === 'identity') {
    const from = partial ? Math.min(end, start + partial.offset) : start;
    const to = partial ? Math.min(end, from + partial.length) : end;
    return to > from ? blobs.getRange(key, from, to) : Buffer.alloc(0);
  }
  const layout = part?.kind === 'single' ? part.decoded : undefined;
  if (partial && layout?.base64Line && encoding === 'base64') {
    if (partial.offset >= layout.size) return Buffer.alloc(0);
    const length = Math.min(partial.length, layout.size - partial.offset);
    const window = base64Window(layout.base64Line, end - start, partial.offset, length);
    const decoded = decodeBase64(await blobs.getRange(key, start + window.start, start + window.end));
    return decoded.subarray(window.skip, window.skip + length);
  }
  const decoded = decodeTransfer(await blobs.getRange(key, start, end), encoding);
  return partial ? decoded.subarray(partial.offset, partial.offset + partial.length) : decoded;
}

/** BINARY[part]<partial>: sent as literal8 (RFC 3516 §4.2), since decoded data may hold NUL. */
export function binaryValue(blobs: BlobReader, message: MessageItem, path: readonly number[], partial: Partial): ComputedLiteral {
  const source = sourceOf(message, path);
  if (!source) return new ComputedLiteral(0, async () => Buffer.alloc(0), 'literal8');
  const readOctets = Math.min(source.end - source.start, partial ? Math.ceil(partial.length * 4 / 3) + 1024 : Infinity);
  return new ComputedLiteral(readOctets, () => decodedRange(blobs, message.blobKey, source, partial), 'literal8');
}

/** BINARY.SIZE[part]: from the index when recorded, else the part is read and decoded once. */
export function binarySizeValue(blobs: BlobReader, message: MessageItem, path: readonly number[]): number | ComputedLiteral {
  const source = sourceOf(message, path);
  if (!source) return 0;
  if (source.encoding === 'identity') return source.end - source.start;
  const layout = source.part?.kind === 'single' ? source.part.decoded : undefined;
  if (layout) return layout.size;
  return new ComputedLiteral(source.end - source.start, async () => Buffer.from(String((await decodedRange(blobs, message.blobKey, source, null)).length)), 'verbatim');
}
