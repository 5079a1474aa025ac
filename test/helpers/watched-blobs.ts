// A blob store watched by a test: how many S3 reads are open at once (a stream counts until it
// ends or is destroyed) and how many octets of ranges, the order ranges were asked for and finished in, and, on request, each
// range read held back by a delay of the test's choosing, or failed.
import type { Readable } from 'node:stream';
import type { BlobStore } from '../../core/blobs.ts';

export class WatchedBlobs {
  open = 0;
  mostOpen = 0;
  /** Octets of the range reads open now, and the most open at once. */
  openOctets = 0;
  mostOpenOctets = 0;
  ranges = 0;
  streams = 0;
  readonly asked: string[] = [];
  readonly finished: string[] = [];
  /** Milliseconds to hold back the `nth` range read (of key `key`) since the last reset. */
  delayMs: (key: string, nth: number) => number = () => 0;
  /** A key whose range reads fail as S3 would with a 500. */
  failKey: string | null = null;

  constructor(private readonly inner: Pick<BlobStore, 'put' | 'getRange' | 'getStream'>) {}

  put(key: string, data: Readable | Buffer) {
    return this.inner.put(key, data);
  }

  async getRange(key: string, start: number, end: number) {
    const nth = this.ranges++;
    this.asked.push(key);
    this.opened();
    this.openOctets += end - start;
    this.mostOpenOctets = Math.max(this.mostOpenOctets, this.openOctets);
    try {
      const wait = this.delayMs(key, nth);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (key === this.failKey) throw new Error('S3 said 500 (test)');
      const data = await this.inner.getRange(key, start, end);
      this.finished.push(key);
      return data;
    } finally {
      this.open -= 1;
      this.openOctets -= end - start;
    }
  }

  async getStream(key: string, range?: { start: number; end: number }): Promise<Readable> {
    this.streams += 1;
    this.opened();
    const source = await this.inner.getStream(key, range);
    let counted = true;
    const done = () => {
      if (counted) this.open -= 1;
      counted = false;
    };
    source.once('end', done).once('close', done).once('error', done);
    return source;
  }

  /** Forgets what was counted (reads still open stay counted) and the delays and failures set. */
  reset() {
    this.mostOpen = this.open;
    this.mostOpenOctets = this.openOctets;
    this.ranges = 0;
    this.streams = 0;
    this.asked.length = 0;
    this.finished.length = 0;
    this.delayMs = () => 0;
    this.failKey = null;
  }

  private opened() {
    this.open += 1;
    this.mostOpen = Math.max(this.mostOpen, this.open);
  }
}
