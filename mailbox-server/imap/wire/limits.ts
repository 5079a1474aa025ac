// Every size limit of the IMAP wire in one place (RFC 7888 literals, RFC 7889 APPENDLIMIT,
// RFC 7162 §4 advice on line lengths), plus the parser's structural caps.

export interface ImapWireLimits {
  /** One command line without its literal data (RFC 7162 §4 asks servers to accept at least 8192). */
  readonly maxLineOctets: number;
  /** Largest literal accepted; the APPENDLIMIT advertised (RFC 7889). */
  readonly maxLiteralOctets: number;
  /** Whole command: all lines and literals together. */
  readonly maxCommandOctets: number;
  /** LITERAL+ (any size up to the limits), LITERAL- (at most 4096 octets), or neither advertised (RFC 7888). */
  readonly nonSynchronizingLiterals: 'plus' | 'minus' | 'off';
  /** How much of a refused non-synchronizing literal is read and dropped before the connection is closed instead (RFC 7888 §4). */
  readonly maxDiscardOctets: number;
  /** Nesting of parenthesised lists and SEARCH keys. */
  readonly maxDepth: number;
  /** Comma-separated items in one sequence set. */
  readonly maxSequenceRanges: number;
}

export const defaultImapWireLimits: ImapWireLimits = {
  maxLineOctets: 64 * 1024,
  maxLiteralOctets: 50 * 1024 * 1024,
  maxCommandOctets: 51 * 1024 * 1024,
  nonSynchronizingLiterals: 'plus',
  maxDiscardOctets: 1024 * 1024,
  maxDepth: 32,
  maxSequenceRanges: 10_000,
};

/**
 * Before login only LOGIN and AUTHENTICATE carry data: an address and a password (RFC 3501 §6.2.3),
 * or a SASL response line (§6.2.2). A few KiB is ample, so an unauthenticated connection holds
 * at most about `maxCommandOctets` plus one socket read, whatever it announces. A
 * non-synchronizing literal over the cap is refused with BAD [TOOBIG] and the connection closed
 * (RFC 7888 §4 lets the server close rather than read and drop what is already on its way).
 */
export const preLoginImapWireLimits: ImapWireLimits = {
  ...defaultImapWireLimits,
  maxLineOctets: 8 * 1024,
  maxLiteralOctets: 4 * 1024,
  maxCommandOctets: 16 * 1024,
  maxDiscardOctets: 0,
};

/** RFC 7888 §3: with LITERAL- a non-synchronizing literal may hold at most this many octets. */
export const literalMinusMaxOctets = 4096;
