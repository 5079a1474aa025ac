// One delivery through the Amazon SES API (SESv2 SendEmail with raw content), signed with the
// relay's own role: no SMTP password exists. The answer is the SMTP client's result type, so the
// retry, bounce and DSN logic cannot tell which way the message went.
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { RecipientReply, TransactionResult } from './smtp-client.ts';

/** What the relay needs of an SESv2 client (tests give one whose requests a middleware answers). */
export type SesSender = Pick<SESv2Client, 'send'>;

/** SendEmail takes at most 50 recipients per call (SES API v2 reference, Destination). */
export const SES_MAX_RECIPIENTS = 50;

interface AwsError {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const oneLine = (text: string) => text.replace(/\s*\r?\n\s*/g, ' ').trim();

/**
 * The SMTP reply an SES error stands for, with SES's words (SES API v2 reference, SendEmail,
 * Errors). RFC 3463 codes: refusals of this message are permanent; throttling, quotas, a paused
 * or suspended account, AWS-side faults and anything about our own setup (IAM, a missing
 * configuration set) are temporary, retried until the message expires, as Postfix treats a
 * refused AUTH (smtp_sasl_auth_soft_bounce): the operator's alarm fires meanwhile.
 */
export function replyOfSesError(err: unknown): { reply: string; permanent: boolean } {
  const e = (err ?? {}) as AwsError;
  const name = e.name ?? 'Error';
  const words = oneLine(`${name}: ${e.message ?? String(err)}`);
  switch (name) {
    case 'MessageRejected':
      // SES refuses unverified senders with this name too: X.7.1 (not authorised), else X.6.0 (content).
      return /not verified|not authori[sz]ed/i.test(e.message ?? '')
        ? { reply: `554 5.7.1 ${words}`, permanent: true }
        : { reply: `554 5.6.0 ${words}`, permanent: true };
    case 'MailFromDomainNotVerifiedException':
      return { reply: `550 5.7.1 ${words}`, permanent: true };
    case 'BadRequestException':
      // The request as made cannot succeed (a malformed address, a message over SES's size limit).
      return /size|too (large|long|big)/i.test(e.message ?? '')
        ? { reply: `552 5.3.4 ${words}`, permanent: true }
        : { reply: `554 5.6.0 ${words}`, permanent: true };
    case 'TooManyRequestsException':
    case 'ThrottlingException':
    case 'LimitExceededException':
      // RFC 3463 X.4.5: mail system congestion (sending rate or daily quota).
      return { reply: `451 4.4.5 ${words}`, permanent: false };
    case 'SendingPausedException':
    case 'AccountSuspendedException':
      return { reply: `451 4.7.0 ${words}`, permanent: false };
    case 'AbortError':
    case 'TimeoutError':
      return { reply: `451 4.4.7 SES did not answer before the attempt's deadline (${words})`, permanent: false };
    default:
      if (e.$fault === 'server' || (e.$metadata?.httpStatusCode ?? 0) >= 500) return { reply: `451 4.3.0 ${words}`, permanent: false };
      // No HTTP answer at all: a network failure on the way to SES.
      if (!e.$metadata?.httpStatusCode) return { reply: `451 4.4.1 ${words}`, permanent: false };
      // AccessDenied, NotFound, an unknown 4xx: our configuration, not the message.
      return { reply: `451 4.3.5 ${words}`, permanent: false };
  }
}

/**
 * Sends `message` to `recipients` through SES. The envelope sender is FromEmailAddress (the
 * identity SES authorises and sends bounces to); the null reverse-path of a DSN leaves it unset,
 * so SES takes the `From:` header (SES API v2 reference, SendEmail, FromEmailAddress). SES
 * accepts or refuses a call as a whole: each batch of 50 recipients gets one answer. Never throws.
 */
export async function sendThroughSesApi(options: {
  client: SesSender;
  mailFrom: string;
  recipients: readonly string[];
  message: Buffer;
  deadline: number;
}): Promise<TransactionResult> {
  const replies: RecipientReply[] = [];
  let firstFailure: { reply: string; permanent: boolean } | null = null;
  let anyAnswered = false;
  for (let i = 0; i < options.recipients.length; i += SES_MAX_RECIPIENTS) {
    const batch = options.recipients.slice(i, i + SES_MAX_RECIPIENTS);
    const remaining = options.deadline - Date.now();
    let outcome: { reply: string; class: 2 | 4 | 5; answered: boolean };
    if (remaining <= 0) {
      outcome = { reply: '451 4.4.7 No time left for a delivery attempt through SES', class: 4, answered: false };
    } else {
      try {
        const out = await options.client.send(new SendEmailCommand({
          ...(options.mailFrom ? { FromEmailAddress: options.mailFrom } : {}),
          Destination: { ToAddresses: batch },
          Content: { Raw: { Data: options.message } },
        }), { abortSignal: AbortSignal.timeout(remaining) });
        outcome = { reply: `250 2.0.0 Ok ${out.MessageId ?? ''}`.trim(), class: 2, answered: true };
      } catch (err) {
        const { reply, permanent } = replyOfSesError(err);
        // A refusal of the message is SES's answer for these recipients; anything else is the host failing.
        const answered = permanent;
        outcome = { reply, class: permanent ? 5 : 4, answered };
        firstFailure ??= { reply, permanent };
      }
    }
    anyAnswered ||= outcome.answered;
    for (const address of batch) replies.push({ address, class: outcome.class, reply: outcome.reply });
  }
  if (!anyAnswered && firstFailure) return { kind: 'host-failed', reply: firstFailure.reply, permanent: false };
  return { kind: 'answered', replies };
}
