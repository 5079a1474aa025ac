// SMTP replies as errors (RFC 5321 §4.2, enhanced codes RFC 3463): what the edge answers a client
// and what the relay records of a delivery attempt for its DSN, so each reply is written once.

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
