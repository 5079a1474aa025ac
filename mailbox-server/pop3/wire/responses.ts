// POP3 status lines (RFC 1939 §3) with RFC 2449 §8 / RFC 3206 extended response codes,
// and the error that carries the -ERR it maps to.

/** RFC 2449 §8.1 LOGIN-DELAY, IN-USE; RFC 3206 SYS/TEMP, SYS/PERM, AUTH; RFC 6856 UTF8. */
export type Pop3ResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'AUTH' | 'UTF8';

/** A failure that answers "-ERR [code] text". */
export class Pop3Error extends Error {
  constructor(
    message: string,
    readonly code: Pop3ResponseCode | null = null,
  ) {
    super(message);
  }
  get response(): Buffer {
    return err(this.message, this.code);
  }
}

/** Text after the status indicator: CR/LF/NUL would split or end the line. */
const safeText = (text: string) => text.replace(/[\r\n\0]+/g, ' ');

export function ok(text = ''): Buffer {
  return Buffer.from(text ? `+OK ${safeText(text)}\r\n` : '+OK\r\n', 'utf8');
}

export function err(text: string, code: Pop3ResponseCode | null = null): Buffer {
  return Buffer.from(`-ERR ${code ? `[${code}] ` : ''}${safeText(text)}\r\n`, 'utf8');
}

/** RFC 5034 §4: "+ " base64 challenge, "+ " alone for an empty one. */
export function saslChallenge(base64 = ''): Buffer {
  return Buffer.from(`+ ${base64}\r\n`, 'latin1');
}

/**
 * A short multi-line response whose lines are generated here (LIST, UIDL, CAPA): "+OK", the
 * lines dot-stuffed (RFC 1939 §3), then ".". Message content goes through DotStuffer instead.
 */
export function multiLine(first: string, lines: readonly string[]): Buffer {
  const body = lines.map((line) => `${line.startsWith('.') ? '.' : ''}${safeText(line)}\r\n`).join('');
  return Buffer.concat([ok(first), Buffer.from(`${body}.\r\n`, 'utf8')]);
}
