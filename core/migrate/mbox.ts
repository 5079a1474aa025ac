// The mbox format (RFC 4155): messages after `From ` separator lines. Read as mboxrd (a body
// line `>From ` or `>>From ` loses one `>`) unless the message carries a Content-Length header
// that lands on the next separator (mboxcl2: nothing escaped); written as mboxrd. Flags travel
// in the Status, X-Status and X-Keywords headers that mutt, Dovecot and Thunderbird use.
import { open } from 'node:fs/promises';

/** One message in an mbox file: byte offsets of its text (separator line and the blank line before the next excluded). */
export interface MboxEntry {
  readonly start: number;
  readonly end: number;
  /** The `From ` line, without its line ending. */
  readonly fromLine: string;
  /** mboxcl2 messages (sized by Content-Length) are not escaped. */
  readonly escaped: boolean;
}

const FROM = Buffer.from('From ');

/** Lines of a file with their offsets, read in chunks (a terminator-less last line included). */
async function* linesOf(path: string): AsyncGenerator<{ offset: number; line: Buffer }> {
  const file = await open(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    let carryOffset = 0;
    const chunk = Buffer.alloc(1024 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : Buffer.from(chunk.subarray(0, bytesRead));
      let at = 0;
      for (let nl = data.indexOf(0x0a, at); nl !== -1; nl = data.indexOf(0x0a, at)) {
        yield { offset: carryOffset + at, line: data.subarray(at, nl + 1) };
        at = nl + 1;
      }
      carryOffset += at;
      carry = data.subarray(at);
    }
    if (carry.length) yield { offset: carryOffset, line: carry };
  } finally {
    await file.close();
  }
}

const isBlank = (line: Buffer) => line.length === 0 || (line.length === 1 && line[0] === 0x0a) || (line.length === 2 && line[0] === 0x0d && line[1] === 0x0a);
const text = (line: Buffer) => line.toString('latin1').replace(/\r?\n$/, '');

/**
 * Finds the messages of an mbox without holding it in memory. RFC 4155 §2: a separator is a
 * `From ` line at the start of the file or after an empty line; the empty line ends the message
 * before it and is not part of it.
 */
export async function scanMbox(path: string): Promise<MboxEntry[]> {
  const entries: MboxEntry[] = [];
  type Current = { start: number; fromLine: string; inHeader: boolean; contentLength: number | null; escaped: boolean };
  let current = null as Current | null;
  let previousBlank = true;
  let blankAt = -1;
  let position = 0;
  // mboxcl2: inside a body sized by Content-Length, separators are only candidates until the
  // length is seen to end on a separator (or the file's end); a wrong length falls back to them.
  let skipUntil = -1;
  let candidates: Array<{ offset: number; line: Buffer; blankAt: number }> = [];
  const close = (end: number) => {
    if (current) entries.push({ start: current.start, end: Math.max(current.start, end), fromLine: current.fromLine, escaped: current.escaped });
  };
  const startAt = (offset: number, line: Buffer, blank: number) => {
    close(blank >= 0 ? blank : offset);
    current = { start: offset + line.length, fromLine: text(line), inHeader: true, contentLength: null, escaped: true };
  };
  const separatorAt = (line: Buffer) => previousBlank && line.subarray(0, 5).equals(FROM);
  for await (const { offset, line } of linesOf(path)) {
    position = offset + line.length;
    if (skipUntil >= 0 && offset >= skipUntil) {
      const landed = offset === skipUntil && (isBlank(line) || separatorAt(line));
      if (!landed && current) {
        current.escaped = true;
        for (const c of candidates) startAt(c.offset, c.line, c.blankAt);
      }
      skipUntil = -1;
      candidates = [];
    }
    if (separatorAt(line)) {
      if (skipUntil >= 0) candidates.push({ offset, line, blankAt });
      else {
        startAt(offset, line, blankAt);
        previousBlank = false;
        blankAt = -1;
        continue;
      }
    }
    if (current?.inHeader) {
      if (isBlank(line)) {
        current.inHeader = false;
        if (current.contentLength !== null) {
          skipUntil = offset + line.length + current.contentLength;
          current.escaped = false;
        }
      } else {
        const length = /^content-length:\s*(\d+)\s*$/i.exec(text(line));
        if (length) current.contentLength = Number(length[1]);
      }
    }
    if (isBlank(line)) {
      previousBlank = true;
      blankAt = offset;
    } else {
      previousBlank = false;
      blankAt = -1;
    }
  }
  if (skipUntil >= 0 && position !== skipUntil && current) {
    current.escaped = true;
    for (const c of candidates) startAt(c.offset, c.line, c.blankAt);
  }
  close(blankAt >= 0 ? blankAt : position);
  return entries;
}

/** mboxrd (RFC 4155 Appendix, "mboxrd"): one `>` comes off every `>…>From ` line. */
export function unescapeMboxrd(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1');
}

/** mboxrd escaping: every line starting with `From `, after any number of `>`, gets one more `>`. */
export function escapeMboxrd(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/^(>*From )/gm, '>$1'), 'latin1');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `From sender Thu Jan  1 00:00:00 2015`: the date in asctime form, UTC (RFC 4155 §2). */
export function mboxFromLine(sender: string, date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const asctime = `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
  return `From ${sender.replace(/\s/g, '') || 'MAILER-DAEMON'} ${asctime}`;
}

/** The date of a `From ` line (asctime, read as UTC), or null. */
export function dateOfFromLine(line: string): Date | null {
  const m = /([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(?:[A-Z]{3,4}\s+)?(\d{4})\s*$/.exec(line);
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return null;
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

/** Status (R = \Seen), X-Status (A \Answered, F \Flagged, T \Draft, D \Deleted) and X-Keywords, as mutt and Dovecot write them. */
export function flagHeaders(flags: readonly string[], eol: string): string {
  const has = (f: string) => flags.some((x) => x.toLowerCase() === f.toLowerCase());
  const status = `${has('\\Seen') ? 'R' : ''}O`;
  const xStatus = [has('\\Answered') && 'A', has('\\Flagged') && 'F', has('\\Draft') && 'T', has('\\Deleted') && 'D'].filter(Boolean).join('');
  const keywords = flags.filter((f) => !f.startsWith('\\'));
  return `Status: ${status}${eol}X-Status: ${xStatus}${eol}${keywords.length ? `X-Keywords: ${keywords.join(' ')}${eol}` : ''}`;
}

/**
 * Reads the flag headers back. Those that lead the message in the order `flagHeaders` writes
 * them are removed (they were added on the way out); anywhere else they are read and left.
 */
export function takeFlagHeaders(raw: Buffer): { raw: Buffer; flags: string[] } {
  const head = raw.subarray(0, Math.min(raw.length, 4096)).toString('latin1');
  const leading = /^Status: ([RO]*)\r?\nX-Status: ([AFTD]*)\r?\n(?:X-Keywords: ([^\r\n]*)\r?\n)?/.exec(head);
  const status = leading ? leading[1]! : (/^Status:[ \t]*([A-Z]*)/im.exec(head.split(/\r?\n\r?\n/, 1)[0]!)?.[1] ?? '');
  const xStatus = leading ? leading[2]! : (/^X-Status:[ \t]*([A-Z]*)/im.exec(head.split(/\r?\n\r?\n/, 1)[0]!)?.[1] ?? '');
  const keywords = leading ? (leading[3] ?? '') : (/^X-Keywords:[ \t]*([^\r\n]*)/im.exec(head.split(/\r?\n\r?\n/, 1)[0]!)?.[1] ?? '');
  const flags = [
    ...(status.includes('R') ? ['\\Seen'] : []),
    ...(xStatus.includes('A') ? ['\\Answered'] : []),
    ...(xStatus.includes('F') ? ['\\Flagged'] : []),
    ...(xStatus.includes('T') ? ['\\Draft'] : []),
    ...(xStatus.includes('D') ? ['\\Deleted'] : []),
    ...keywords.split(/[\s,]+/).filter(Boolean),
  ];
  return { raw: leading ? raw.subarray(Buffer.byteLength(leading[0], 'latin1')) : raw, flags };
}
