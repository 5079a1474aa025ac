// A stand-in for the Amazon SES API v2 (the emulators have none): an SESv2 client whose requests
// never leave the process. Its request handler answers SendEmail with what SES documents (SES API
// v2 reference, SendEmail: 200 {"MessageId"}; errors as restJson1, an `x-amzn-ErrorType` header
// and {"message"}), so the SDK's own deserializer turns them into the exceptions the relay maps.
// SES is no protocol we claim to speak; the stub is only as faithful as those documents.
import { randomBytes } from 'node:crypto';
import { SESv2Client, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';

/** One SendEmail as SES received it, decoded. */
export interface SesRequest {
  readonly fromEmailAddress: string | undefined;
  readonly destinations: string[];
  readonly raw: Buffer;
}

/** What SES answers to one request: accepted, or an error by name and HTTP status. */
export type SesAnswer = { readonly accept: true } | { readonly error: string; readonly status: number; readonly message: string };

export const SES_ERRORS = {
  messageRejected: (message = 'Email address is not verified. The following identities failed the check in region US-EAST-1: someone@elsewhere.test') => ({ error: 'MessageRejected', status: 400, message }),
  mailFromNotVerified: () => ({ error: 'MailFromDomainNotVerifiedException', status: 400, message: 'Custom MAIL FROM domain is not verified' }),
  throttled: () => ({ error: 'TooManyRequestsException', status: 429, message: 'Maximum sending rate exceeded.' }),
  dailyQuota: () => ({ error: 'LimitExceededException', status: 400, message: 'Daily message quota exceeded.' }),
  sendingPaused: () => ({ error: 'SendingPausedException', status: 400, message: 'Sending is paused for this account.' }),
  internal: () => ({ error: 'InternalFailure', status: 500, message: 'We encountered an internal error. Please try again.' }),
} satisfies Record<string, (...a: never[]) => SesAnswer>;

export class SesStub {
  readonly requests: SesRequest[] = [];
  /** Decides the answer for each request (default: accept). */
  answer: (request: SesRequest, n: number) => SesAnswer = () => ({ accept: true });
  /** A client with static credentials and no retries (the relay's own retry schedule decides), answered in-process. */
  readonly client: SESv2Client;

  constructor(region = 'us-east-1') {
    this.client = new SESv2Client({
      region,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: { body?: unknown; path?: string }) => {
          const bytes = request.body as Uint8Array | string | undefined;
          // The view's own bytes: Buffer.from(view) would call the SDK's string adapter (valueOf).
          const body = typeof bytes === 'string' ? bytes : bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '{}';
          const input = JSON.parse(body) as { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } } };
          const recorded: SesRequest = {
            fromEmailAddress: input.FromEmailAddress,
            destinations: input.Destination?.ToAddresses ?? [],
            raw: Buffer.from(input.Content?.Raw?.Data ?? '', 'base64'),
          };
          this.requests.push(recorded);
          const answer = this.answer(recorded, this.requests.length);
          const json = (status: number, headers: Record<string, string>, body: unknown) => ({
            response: { statusCode: status, headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomBytes(8).toString('hex'), ...headers }, body: Buffer.from(JSON.stringify(body)) },
          });
          if ('accept' in answer) return json(200, {}, { MessageId: `0100${randomBytes(12).toString('hex')}-000000` });
          return json(answer.status, { 'x-amzn-errortype': `${answer.error}:http://internal.amazon.com/coral/com.amazonaws.sesv2/` }, { message: answer.message });
        },
      } as never,
    });
  }
}

/** The input the relay gave the SDK (before serialisation), for checks on the command itself. */
export type SesInput = SendEmailCommandInput;
