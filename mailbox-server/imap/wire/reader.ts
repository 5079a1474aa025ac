// Frames IMAP commands out of the socket's byte stream: an explicit state machine
// (line / literal(remaining) / discarding) that owns every size limit, RFC 3501 §4.3 and §7.5.
import { type ImapWireLimits, literalMinusMaxOctets } from './limits.ts';

/** A command as it arrived: its lines (without CRLF; a line before a literal ends in "{n}") and literal data. */
export type CommandChunk =
  | { readonly kind: 'line'; readonly bytes: Buffer }
  | { readonly kind: 'literal'; readonly bytes: Buffer };

export type ImapReaderEvent =
  /** A complete command, ready for the parser. */
  | { readonly kind: 'command'; readonly chunks: readonly CommandChunk[] }
  /** A synchronising literal of `octets` was announced and accepted: send "+ " (RFC 3501 §7.5). */
  | { readonly kind: 'continue'; readonly octets: number }
  /** The command was refused at the wire and its remaining bytes will be dropped: send the tagged answer once. */
  | { readonly kind: 'reject'; readonly tag: string | null; readonly status: 'BAD' | 'NO'; readonly code: 'TOOBIG' | null; readonly text: string }
  /** The stream cannot be resynchronised: send "* BYE" and close. Nothing more is read. */
  | { readonly kind: 'close'; readonly code: 'TOOBIG' | null; readonly text: string };

type ReaderState =
  | { readonly kind: 'line' }
  | { readonly kind: 'literal'; readonly remaining: number }
  | { readonly kind: 'discardLine' }
  | { readonly kind: 'discardLiteral'; readonly remaining: number }
  | { readonly kind: 'closed' };

interface LiteralMarker {
  readonly octets: number;
  readonly nonSynchronizing: boolean;
  readonly binary: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const tailOctets = 32;

// RFC 3501 §9 literal = "{" number "}" CRLF; RFC 7888 adds "{" number "+}"; RFC 3516 adds "~{" number "}".
const literalMarkerPattern = /(~?)\{([0-9]+)(\+?)\}$/;
// RFC 3501 §9 tag = 1*<any ASTRING-CHAR except "+">
const tagPattern = /^([\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]+) /;

/** The tag of a command line, if it has a well-formed one: used to address BAD answers. */
export function readTag(line: Buffer): string | null {
  const match = tagPattern.exec(line.subarray(0, 128).toString('latin1'));
  return match ? match[1]! : null;
}

function readLiteralMarker(lineEnd: Buffer): LiteralMarker | null {
  const match = literalMarkerPattern.exec(lineEnd.subarray(Math.max(0, lineEnd.length - tailOctets)).toString('latin1'));
  if (!match) return null;
  const digits = match[2]!;
  // More than 15 digits cannot be a size we accept; keep it finite but over every limit.
  const octets = digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
  return { octets, nonSynchronizing: match[3] === '+', binary: match[1] === '~' };
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}

/**
 * Feed it socket data with `push`; it returns what the session must do, in order.
 * Memory is bounded: a partial line never exceeds `maxLineOctets`, a literal never exceeds
 * `maxLiteralOctets`, and refused input is counted and dropped, not buffered. A bare LF is
 * accepted as a line end (some clients and netcat send it); the CR before it is removed.
 */
export class ImapCommandReader {
  private state: ReaderState = { kind: 'line' };
  private lineParts: Buffer[] = [];
  private lineOctets = 0;
  private literalParts: Buffer[] = [];
  private chunks: CommandChunk[] = [];
  private commandOctets = 0;
  private tag: string | null = null;
  /** The current command was refused; its remaining lines and literals are consumed silently. */
  private refused = false;
  private discardTail: Buffer = Buffer.alloc(0);
  /** Before login: stop after each complete command, so the next is framed under the limits its state sets. */
  private oneCommandAtATime = false;
  /** Bytes after a command, not framed yet (one-command-at-a-time mode). */
  private held: Buffer | null = null;

  constructor(private limits: ImapWireLimits) {}

  /**
   * Frames what follows under `limits`. With `oneCommandAtATime`, `push` stops after each command
   * and keeps the rest until `release`: a command pipelined behind LOGIN must be framed under the
   * limits of the state LOGIN leads to, not refused or accepted by the pre-login ones.
   */
  useLimits(limits: ImapWireLimits, options: { oneCommandAtATime: boolean }): void {
    this.limits = limits;
    this.oneCommandAtATime = options.oneCommandAtATime;
  }

  /** Bytes wait behind a framed command; the session should stop reading the socket until `release`. */
  get holding(): boolean {
    return this.held !== null;
  }

  /** Frames the bytes held after the last command (under the limits now in force). */
  release(): ImapReaderEvent[] {
    const held = this.held;
    this.held = null;
    return held ? this.push(held) : [];
  }

  /** The state machine's state, for tests and diagnostics. */
  get stateKind(): ReaderState['kind'] {
    return this.state.kind;
  }

  /** Octets held for the command in progress. */
  get bufferedOctets(): number {
    return (this.held?.length ?? 0) + this.lineOctets + this.literalParts.reduce((n, b) => n + b.length, 0) + this.chunks.reduce((n, c) => n + c.bytes.length, 0);
  }

  /**
   * RFC 3501 §7.5: instead of "+", the server may answer a synchronising literal with a tagged
   * NO/BAD; the client then does not send it. Call this after such an answer to forget the command.
   */
  abandonCommand(): void {
    if (this.state.kind === 'closed') return;
    this.resetCommand();
    this.state = { kind: 'line' };
  }

  push(data: Buffer): ImapReaderEvent[] {
    const events: ImapReaderEvent[] = [];
    if (this.held) {
      this.held = Buffer.concat([this.held, data]);
      return events;
    }
    let pos = 0;
    while (pos < data.length) {
      if (this.oneCommandAtATime && events.at(-1)?.kind === 'command') {
        this.held = Buffer.from(data.subarray(pos));
        return events;
      }
      const state = this.state;
      switch (state.kind) {
        case 'closed':
          return events;
        case 'line':
          pos = this.readLine(data, pos, events);
          break;
        case 'literal': {
          const take = Math.min(state.remaining, data.length - pos);
          this.literalParts.push(data.subarray(pos, pos + take));
          pos += take;
          this.state = { kind: 'literal', remaining: state.remaining - take };
          if (state.remaining === take) this.finishLiteral();
          break;
        }
        case 'discardLiteral': {
          const take = Math.min(state.remaining, data.length - pos);
          pos += take;
          this.state = state.remaining === take ? { kind: 'line' } : { kind: 'discardLiteral', remaining: state.remaining - take };
          break;
        }
        case 'discardLine': {
          const lf = data.indexOf(LF, pos);
          const end = lf === -1 ? data.length : lf;
          this.keepTail(data.subarray(pos, end));
          pos = lf === -1 ? end : lf + 1;
          if (lf !== -1) {
            this.state = { kind: 'line' };
            // The dropped line may have announced a literal: it must not be read as commands.
            this.afterRefusedLine(readLiteralMarker(stripCr(this.discardTail)), events);
            this.discardTail = Buffer.alloc(0);
          }
          break;
        }
      }
    }
    return events;
  }

  private readLine(data: Buffer, pos: number, events: ImapReaderEvent[]): number {
    const lf = data.indexOf(LF, pos);
    const end = lf === -1 ? data.length : lf;
    const piece = data.subarray(pos, end);
    // +1: the CR before LF is not part of the line.
    if (this.lineOctets + piece.length > this.limits.maxLineOctets + 1) {
      if (this.chunks.length === 0 && this.tag === null) this.tag = readTag(Buffer.concat([...this.lineParts, piece.subarray(0, 128)]));
      this.refuse(events, 'BAD', null, 'Command line too long');
      this.lineParts = [];
      this.lineOctets = 0;
      this.discardTail = Buffer.alloc(0);
      this.state = { kind: 'discardLine' };
      return pos; // the discardLine state consumes this same data
    }
    this.lineParts.push(piece);
    this.lineOctets += piece.length;
    if (lf === -1) return data.length;
    const line = stripCr(Buffer.concat(this.lineParts));
    this.lineParts = [];
    this.lineOctets = 0;
    this.completeLine(line, events);
    return lf + 1;
  }

  private completeLine(line: Buffer, events: ImapReaderEvent[]): void {
    if (this.chunks.length === 0) this.tag = readTag(line);
    this.commandOctets += line.length + 2;
    const marker = readLiteralMarker(line);
    if (!this.refused && this.commandOctets > this.limits.maxCommandOctets) this.refuse(events, 'BAD', null, 'Command too long');
    if (this.refused) {
      this.afterRefusedLine(marker, events);
      return;
    }
    this.chunks.push({ kind: 'line', bytes: line });
    if (!marker) {
      events.push({ kind: 'command', chunks: this.chunks });
      this.resetCommand();
      return;
    }
    const refusal = this.literalRefusal(marker);
    if (refusal) {
      this.refuse(events, refusal.status, refusal.code, refusal.text);
      this.afterRefusedLine(marker, events);
      return;
    }
    this.commandOctets += marker.octets;
    if (!marker.nonSynchronizing) events.push({ kind: 'continue', octets: marker.octets });
    this.state = { kind: 'literal', remaining: marker.octets };
    if (marker.octets === 0) this.finishLiteral();
  }

  /** Why an announced literal cannot be accepted, or null. */
  private literalRefusal(marker: LiteralMarker): { status: 'BAD' | 'NO'; code: 'TOOBIG' | null; text: string } | null {
    if (marker.nonSynchronizing && this.limits.nonSynchronizingLiterals === 'off') {
      return { status: 'BAD', code: null, text: 'Non-synchronizing literals are not supported' };
    }
    // RFC 7888 §4: LITERAL- servers reject a larger non-synchronizing literal with BAD [TOOBIG].
    if (marker.nonSynchronizing && this.limits.nonSynchronizingLiterals === 'minus' && marker.octets > literalMinusMaxOctets) {
      return { status: 'BAD', code: 'TOOBIG', text: `Non-synchronizing literals are limited to ${literalMinusMaxOctets} octets` };
    }
    if (marker.octets > this.limits.maxLiteralOctets || this.commandOctets + marker.octets > this.limits.maxCommandOctets) {
      // RFC 7889 §3: a synchronising literal over APPENDLIMIT gets NO [TOOBIG] and is never sent;
      // a non-synchronizing one is already on its way, so the command is malformed: BAD.
      return marker.nonSynchronizing
        ? { status: 'BAD', code: 'TOOBIG', text: 'Literal too big' }
        : { status: 'NO', code: 'TOOBIG', text: 'Literal too big' };
    }
    return null;
  }

  /** After a line of a refused command: drop an announced non-synchronizing literal, or end the command. */
  private afterRefusedLine(marker: LiteralMarker | null, events: ImapReaderEvent[]): void {
    if (marker?.nonSynchronizing) {
      // RFC 7888 §4: read and discard the literal, or close the connection when that is too costly.
      if (marker.octets > this.limits.maxDiscardOctets) {
        events.push({ kind: 'close', code: 'TOOBIG', text: 'Literal too big' });
        this.resetCommand();
        this.state = { kind: 'closed' };
        return;
      }
      this.state = { kind: 'discardLiteral', remaining: marker.octets };
      return;
    }
    // No literal, or a synchronising one the client waits for in vain: it has its tagged answer.
    this.resetCommand();
  }

  private refuse(events: ImapReaderEvent[], status: 'BAD' | 'NO', code: 'TOOBIG' | null, text: string): void {
    if (this.refused) return;
    this.refused = true;
    events.push({ kind: 'reject', tag: this.tag, status, code, text });
    this.chunks = [];
    this.literalParts = [];
  }

  private finishLiteral(): void {
    this.chunks.push({ kind: 'literal', bytes: Buffer.concat(this.literalParts) });
    this.literalParts = [];
    this.state = { kind: 'line' };
  }

  private keepTail(piece: Buffer): void {
    if (piece.length >= tailOctets) this.discardTail = Buffer.from(piece.subarray(piece.length - tailOctets));
    else this.discardTail = Buffer.concat([this.discardTail, piece]).subarray(-tailOctets);
  }

  private resetCommand(): void {
    this.chunks = [];
    this.literalParts = [];
    this.commandOctets = 0;
    this.tag = null;
    this.refused = false;
  }
}
