// Errors that carry the protocol answer they map to, so each mapping is written once.

/** An SMTP reply: basic code, enhanced status code (RFC 3463), text. */
export class SmtpError extends Error {
  constructor(
    readonly code: number,
    readonly enhanced: string,
    message: string,
  ) {
    super(message);
  }
  /** The reply line text after the code, as smtp-server sends it. */
  get reply(): string {
    return `${this.enhanced} ${this.message}`;
  }
}

/** A transient failure of a dependency (S3, SQS, DynamoDB): the client should try again later. */
export const temporaryFailure = () => new SmtpError(451, '4.3.0', 'Temporary failure, please try again later');

/** An error as a short loggable value: name and message, no stack or payloads. */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
