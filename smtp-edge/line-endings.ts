// Detects bare CR and bare LF in DATA, across chunk boundaries. RFC 5321 §2.3.8 allows CR and
// LF only together as CRLF; servers that accept `\n.\n` or `\r.\r` as end of data can be made to
// see a second, smuggled message (SMTP smuggling, CVE-2023-51764/51765/51766), so the edge
// refuses such messages instead of passing them on.

export type LineEndingProblem = 'bare LF' | 'bare CR';

export class LineEndingCheck {
  /** The previous chunk ended in CR, so the next byte must be LF. */
  private pendingCR = false;

  /** Scans one chunk; returns the first problem found, or null. */
  scan(chunk: Buffer): LineEndingProblem | null {
    if (chunk.length === 0) return null;
    if (this.pendingCR && chunk[0] !== 0x0a) return 'bare CR';
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
      const before = i === 0 ? (this.pendingCR ? 0x0d : -1) : chunk[i - 1];
      if (before !== 0x0d) return 'bare LF';
    }
    for (let i = chunk.indexOf(0x0d); i !== -1; i = chunk.indexOf(0x0d, i + 1)) {
      if (i === chunk.length - 1) break;
      if (chunk[i + 1] !== 0x0a) return 'bare CR';
    }
    this.pendingCR = chunk[chunk.length - 1] === 0x0d;
    return null;
  }

  /** At end of data: a CR with nothing after it is bare too. */
  finish(): LineEndingProblem | null {
    return this.pendingCR ? 'bare CR' : null;
  }
}
