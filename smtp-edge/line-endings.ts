// Bare CR and bare LF in DATA, across chunk boundaries. RFC 5321 §2.3.8 allows CR and LF only
// together as CRLF; servers that accept `\n.\n` or `\r.\r` as end of data can be made to see a
// second, smuggled message (SMTP smuggling, CVE-2023-51764/51765/51766). smtp-server ends DATA
// only at CRLF.CRLF, so nothing after a fake end is ever run as a command; what is left is
// what to store.
//
// `normalize` (the default, as Postfix's `smtpd_forbid_bare_newline = normalize`): a line
// ending in a bare LF is taken as ending in CRLF and stored so. A `.` line so ended is content,
// and is dot-stuffed again when relayed or served over POP3, so no later hop can read it as an
// end of data. Plenty of legitimate software still writes bare LF (shell here-strings, scripts
// on Unix), and refusing it bounces their mail.
// `reject`: such a message is refused with 554 5.6.0.
//
// A bare CR is refused in both modes: no mail software writes one on purpose; it appears in
// smuggling attempts (`\r.\r`) and in binary content sent without encoding. Turning it into CRLF
// would split lines where the sender saw none, and passing it on would hand the ambiguity to the
// next hop, which may end data there.

export type LineEndingProblem = 'bare LF' | 'bare CR';

import type { BareLineFeedPolicy } from '../core/config.ts';

export type LineEndingResult = { readonly problem: LineEndingProblem } | { readonly problem: null; readonly bytes: Buffer };

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n');

export class LineEndingFilter {
  /** The previous chunk ended in CR, so the next byte must be LF. */
  private pendingCR = false;

  constructor(private readonly policy: BareLineFeedPolicy) {}

  /** Filters one chunk: the bytes to store (bare LF made CRLF under `normalize`), or the problem. */
  scan(chunk: Buffer): LineEndingResult {
    if (chunk.length === 0) return { problem: null, bytes: chunk };
    if (this.pendingCR && chunk[0] !== LF) return { problem: 'bare CR' };
    for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) {
      if (i < chunk.length - 1 && chunk[i + 1] !== LF) return { problem: 'bare CR' };
    }
    const pieces: Buffer[] = [];
    let copied = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      const before = i === 0 ? (this.pendingCR ? CR : -1) : chunk[i - 1];
      if (before === CR) continue;
      if (this.policy === 'reject') return { problem: 'bare LF' };
      pieces.push(chunk.subarray(copied, i), CRLF);
      copied = i + 1;
    }
    this.pendingCR = chunk[chunk.length - 1] === CR;
    if (copied === 0) return { problem: null, bytes: chunk };
    pieces.push(chunk.subarray(copied));
    return { problem: null, bytes: Buffer.concat(pieces) };
  }

  /** At end of data: a CR with nothing after it is bare too. */
  finish(): LineEndingProblem | null {
    return this.pendingCR ? 'bare CR' : null;
  }
}
