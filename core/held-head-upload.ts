// An S3 upload whose first bytes are decided last. The edge learns what goes on top of a message
// from the MX (its Authentication-Results) only after the final dot, yet must not hold 25 MiB to
// find out: the first part (≥ 5 MiB, S3's least for a part that is not the last) stays in memory
// while the parts after it stream out as a multipart upload, and is sent, with what goes in
// front of it, at the end. A message smaller than two parts is one PutObject at the end.
// Memory per message: the held part and the part being filled, about 2 × partSize.
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';

/** S3's least part size for every part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export class HeldHeadUpload {
  private head: Buffer[] = [];
  private headBytes = 0;
  private headFull = false;
  private current: Buffer[] = [];
  private currentBytes = 0;
  private uploadId: Promise<string> | null = null;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  private nextPart = 2;
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;
  private finished = false;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly options: { readonly partBytes?: number; readonly contentType?: string; readonly onError?: (err: unknown) => void } = {},
  ) {}

  private get partBytes(): number {
    return Math.max(this.options.partBytes ?? MIN_PART_BYTES, MIN_PART_BYTES);
  }

  /** The head held so far: what `finish` lets the caller rewrite. */
  get heldHead(): Buffer {
    return Buffer.concat(this.head);
  }

  /** How many bytes the head held (before any rewrite). */
  get heldHeadBytes(): number {
    return this.headBytes;
  }

  /** True once the head part is full and later bytes go out as parts. */
  get headComplete(): boolean {
    return this.headFull;
  }

  /**
   * Takes the next bytes. False when a part is on its way to S3: wait for `drained()` before
   * writing more, so at most one part is in flight and memory stays bounded.
   */
  write(bytes: Buffer): boolean {
    if (this.failure || this.finished || bytes.length === 0) return true;
    if (!this.headFull) {
      this.head.push(bytes);
      this.headBytes += bytes.length;
      if (this.headBytes >= this.partBytes) this.headFull = true;
      return true;
    }
    this.current.push(bytes);
    this.currentBytes += bytes.length;
    if (this.currentBytes < this.partBytes) return true;
    const body = Buffer.concat(this.current);
    this.current = [];
    this.currentBytes = 0;
    const partNumber = this.nextPart++;
    this.inFlight = this.uploadPart(partNumber, body).then(
      () => { this.inFlight = null; },
      (err: unknown) => {
        this.inFlight = null;
        this.fail(err);
      },
    );
    return false;
  }

  /** Resolves when no part is in flight (also after a failure, which `onError` reported). */
  drained(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err;
    this.options.onError?.(err);
  }

  private multipart(): Promise<string> {
    this.uploadId ??= this.s3
      .send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: this.options.contentType ?? 'message/rfc822' }))
      .then((out) => out.UploadId!);
    return this.uploadId;
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const uploadId = await this.multipart();
    const out = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
    this.parts.push({ PartNumber: partNumber, ETag: out.ETag! });
  }

  /**
   * Writes `prefix`, then the head as `rewriteHead` returns it, then the rest, and completes the
   * object. Throws (after aborting) if any part failed; nothing is visible under the key then.
   */
  async finish(prefix: Buffer, rewriteHead: (head: Buffer) => Buffer = (h) => h): Promise<void> {
    this.finished = true;
    await this.drained();
    if (this.failure) {
      await this.abort();
      throw this.failure;
    }
    const first = Buffer.concat([prefix, rewriteHead(this.heldHead)]);
    try {
      if (!this.uploadId) {
        await this.s3.send(new PutObjectCommand({
          Bucket: this.bucket, Key: this.key, ContentType: this.options.contentType ?? 'message/rfc822', Body: Buffer.concat([first, ...this.current]),
        }));
        return;
      }
      const uploadId = await this.uploadId;
      const tail = Buffer.concat(this.current);
      await Promise.all([
        this.uploadPart(1, first),
        ...(tail.length > 0 ? [this.uploadPart(this.nextPart++, tail)] : []),
      ]);
      const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
      await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.abort();
      throw err;
    } finally {
      this.head = [];
      this.current = [];
    }
  }

  private aborting: Promise<void> | null = null;

  /** Drops everything: no object appears under the key. Best effort for an upload already begun; once. */
  abort(): Promise<void> {
    this.aborting ??= this.abortOnce();
    return this.aborting;
  }

  private async abortOnce(): Promise<void> {
    this.finished = true;
    this.head = [];
    this.current = [];
    await this.inFlight?.catch(() => undefined);
    if (!this.uploadId) return;
    try {
      const uploadId = await this.uploadId;
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }));
    } catch {
      // an upload never completed is invisible; the bucket's lifecycle rule removes stale parts
    }
  }
}
