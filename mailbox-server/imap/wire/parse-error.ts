// The one error the IMAP parser raises: it carries the tagged BAD the session sends back.

/** A command that breaks the grammar of RFC 3501 §9; `response` is the line to send (without CRLF). */
export class ParseError extends Error {
  constructor(
    /** The command's tag when it could be read; otherwise the answer is untagged ("* BAD"). */
    readonly tag: string | null,
    message: string,
    /** An RFC 5530 response code, e.g. CLIENTBUG or TOOBIG. */
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get response(): string {
    return `${this.tag ?? '*'} BAD ${this.code ? `[${this.code}] ` : ''}${this.message}`;
  }
}
