// The blob store: raw messages in S3, written once, read whole or by byte range.
import { GetObjectCommand, PutObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { BUCKET } from './resources.ts';
import { HeldHeadUpload } from './held-head-upload.ts';

/** `raw/YYYY/MM/DD/<id>.eml`, dated by when the message was received (UTC). */
export function rawBlobKey(id: string, receivedAt: Date): string {
  const y = receivedAt.getUTCFullYear();
  const m = String(receivedAt.getUTCMonth() + 1).padStart(2, '0');
  const d = String(receivedAt.getUTCDate()).padStart(2, '0');
  return `${BUCKET.rawPrefix}${y}/${m}/${d}/${id}.eml`;
}

export class BlobStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /**
   * Streams a body into S3 (multipart above 5 MiB, so memory stays bounded).
   * Resolves only once S3 has the whole object; an error in `body` aborts the upload.
   */
  async put(key: string, body: Readable | Buffer, contentType = 'message/rfc822'): Promise<void> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      queueSize: 2,
      partSize: 5 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  /**
   * An upload whose first part is sent last, with bytes decided at the end in front of it
   * (core/held-head-upload.ts): how the MX stores a message behind its Authentication-Results.
   */
  startHeldHeadUpload(key: string, onError?: (err: unknown) => void): HeldHeadUpload {
    return new HeldHeadUpload(this.s3, this.bucket, key, onError ? { onError } : {});
  }

  async getBuffer(key: string): Promise<Buffer> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  /** Bytes [start, end) of the blob; an empty range gives an empty buffer without a request. */
  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    if (end <= start) return Buffer.alloc(0);
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
    );
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  async getStream(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const out = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
      }),
    );
    return out.Body as Readable;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'NotFound' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  /** Marks a blob as unreferenced; the bucket lifecycle rule expires it after the grace period. */
  async markOrphan(key: string): Promise<void> {
    await this.s3.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: BUCKET.orphanTag.key, Value: BUCKET.orphanTag.value }] },
      }),
    );
  }
}
