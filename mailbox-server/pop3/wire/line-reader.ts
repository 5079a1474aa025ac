// Frames POP3 commands from the socket (RFC 1939 §3, RFC 2449 §4 limits) and SASL response lines
// (RFC 5034 §4). Over-long lines are refused once and dropped up to their end, never buffered.
import { err } from './responses.ts';

export interface Pop3LineLimits {
  /** RFC 2449 §4: a command line is at most 255 octets including CRLF. */
  readonly maxCommandOctets: number;
  /** RFC 2449 §4: each argument at most 40 characters. */
  readonly maxArgumentChars: number;
  /** SASL responses and AUTH with an initial response carry base64 credentials and may be longer (RFC 5034 §4). */
  readonly maxSaslOctets: number;
}

export const defaultPop3LineLimits: Pop3LineLimits = { maxCommandOctets: 255, maxArgumentChars: 40, maxSaslOctets: 8192 };

export type Pop3ReaderEvent =
  /** keyword is uppercased (RFC 1939 §3: case-insensitive, 3-4 characters). */
  | { readonly kind: 'command'; readonly keyword: string; readonly args: readonly string[] }
  /** A line answering a SASL challenge ("*" cancels, RFC 5034 §4). */
  | { readonly kind: 'sasl'; readonly line: string }
  /** Send this -ERR; the line was dropped and the session continues. */
  | { readonly kind: 'error'; readonly response: Buffer };

const LF = 0x0a;

export class Pop3LineReader {
  private parts: Buffer[] = [];
  private octets = 0;
  private discarding = false;
  private saslNext = false;

  constructor(private readonly limits: Pop3LineLimits = defaultPop3LineLimits) {}

  /** The next line is a SASL response, not a command (after sending a "+ " challenge). */
  expectSaslResponse(): void {
    this.saslNext = true;
  }

  private get limit(): number {
    // AUTH lines are told apart only once complete, so they get the larger SASL limit from the start.
    return this.saslNext || this.startsWithAuth() ? this.limits.maxSaslOctets : this.limits.maxCommandOctets;
  }

  private startsWithAuth(): boolean {
    const head = Buffer.concat(this.parts).subarray(0, 5).toString('latin1').toUpperCase();
    return head === 'AUTH ';
  }

  push(data: Buffer): Pop3ReaderEvent[] {
    const events: Pop3ReaderEvent[] = [];
    let pos = 0;
    while (pos < data.length) {
      const lf = data.indexOf(LF, pos);
      const end = lf === -1 ? data.length : lf + 1;
      const piece = data.subarray(pos, end);
      pos = end;
      if (this.discarding) {
        if (lf !== -1) this.discarding = false;
        continue;
      }
      this.parts.push(piece);
      this.octets += piece.length;
      if (this.octets > this.limit) {
        events.push({ kind: 'error', response: err('Line too long') });
        this.parts = [];
        this.octets = 0;
        this.saslNext = false;
        this.discarding = lf === -1;
        continue;
      }
      if (lf === -1) continue;
      const line = Buffer.concat(this.parts).toString('latin1').replace(/\r?\n$/, '');
      this.parts = [];
      this.octets = 0;
      events.push(this.lineEvent(line));
    }
    return events;
  }

  private lineEvent(line: string): Pop3ReaderEvent {
    if (this.saslNext) {
      this.saslNext = false;
      return { kind: 'sasl', line };
    }
    // RFC 1939 §3: keyword SP arguments, separated by single spaces, printable ASCII.
    if (!/^[\x20-\x7e]*$/.test(line)) return { kind: 'error', response: err('Invalid characters in command') };
    const [keyword = '', ...args] = line.split(' ');
    if (!/^[A-Za-z]{3,4}$/.test(keyword)) return { kind: 'error', response: err('Unknown command') };
    const upper = keyword.toUpperCase();
    // RFC 1939 §7: PASS takes the rest of the line, spaces included.
    if (upper === 'PASS') return { kind: 'command', keyword: upper, args: line.length > 5 ? [line.slice(5)] : [] };
    if (args.some((a) => a.length === 0)) return { kind: 'error', response: err('Invalid argument syntax') };
    // The AUTH initial response is base64 credentials, exempt from the 40-character rule (RFC 5034 §4).
    // USER names are e-mail addresses here, up to 254 characters (RFC 5321 §4.5.3.1.3): applying
    // RFC 2449's 40 would lock long addresses out of USER/PASS, as Dovecot and others also allow.
    // The whole line stays under the 255-octet command limit.
    const limitedArgs = upper === 'AUTH' ? args.slice(0, 1) : upper === 'USER' ? [] : args;
    if (limitedArgs.some((a) => a.length > this.limits.maxArgumentChars)) return { kind: 'error', response: err('Argument too long') };
    return { kind: 'command', keyword: upper, args };
  }
}
