// Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report): the bounce and the
// delay warning the relay sends to a message's envelope sender. Pure: bytes in, bytes out.
import { rfc5322Date } from '../rfc5322-date.ts';
import { randomBytes } from 'node:crypto';

/** One recipient's line in the report (RFC 3464 §2.3). */
export interface DsnRecipient {
  readonly address: string;
  /** RFC 3464 §2.3.3: `failed` for a bounce, `delayed` for a warning. */
  readonly action: 'failed' | 'delayed';
  /** RFC 3463 enhanced status, e.g. 5.1.1. */
  readonly status: string;
  /** The remote reply (`550 5.1.1 No such user`), or our own reason; goes into Diagnostic-Code: smtp. */
  readonly diagnostic: string;
  /** The MTA that gave the reply, if one did (RFC 3464 §2.3.5). */
  readonly remoteMta?: string | null;
}

export interface DsnInput {
  /** Our host name: Reporting-MTA and the MAILER-DAEMON address. */
  readonly hostname: string;
  /** The envelope sender of the original, who receives the report. Must not be empty. */
  readonly to: string;
  readonly recipients: readonly DsnRecipient[];
  /** When we accepted the original (RFC 3464 §2.2.5 Arrival-Date). */
  readonly arrivalDate: Date;
  readonly now: Date;
  /** The original message; only its header section is returned (RFC 6522 text/rfc822-headers). */
  readonly original: Buffer;
  /** For a delay warning: until when we keep trying (RFC 3464 §2.3.9 Will-Retry-Until). */
  readonly willRetryUntil?: Date;
  /** The Message-ID's unique part; random when absent. */
  readonly id?: string;
}

const CRLF = '\r\n';

/** The header section of a message (up to, not including, the empty line); the whole if no body. */
export function headerSection(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(0, crlf + 2);
  if (lf >= 0) return raw.subarray(0, lf + 1);
  return raw;
}

/** Received header fields of the message: its hop count (RFC 5321 §6.3 loop detection). */
export function countReceivedHeaders(raw: Buffer): number {
  const text = headerSection(raw).toString('latin1');
  let n = 0;
  for (const line of text.split(/\r?\n/)) if (/^received[ \t]*:/i.test(line)) n++;
  return n;
}

/** The first value of a header field in the header section, unfolded; null when absent. */
export function headerValue(raw: Buffer, name: string): string | null {
  const text = headerSection(raw).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}[ \\t]*:[ \\t]*(.*)$`, 'im');
  const match = re.exec(text);
  return match ? match[1]!.trim() : null;
}

/** The enhanced status of an SMTP reply text (`550 5.1.1 ...`), else one derived from its class. */
export function statusOfReply(reply: string, fallbackClass: 4 | 5): string {
  const match = /^\s*([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (match) return match[2]!;
  const basic = /^\s*([45])\d\d\b/.exec(reply);
  return `${basic ? basic[1] : fallbackClass}.0.0`;
}

/** A value safe for one header line: printable ASCII, no line breaks, bounded. */
function headerSafe(value: string, max = 900): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

/** Builds the DSN message (header and body, CRLF line ends), ready to file or relay from `<>`. */
export function buildDsn(input: DsnInput): Buffer {
  if (!input.to) throw new Error('a DSN is never sent to the null reverse-path (RFC 3464 §3)');
  if (input.recipients.length === 0) throw new Error('a DSN needs at least one recipient');
  const failed = input.recipients.some((r) => r.action === 'failed');
  const id = input.id ?? randomBytes(12).toString('hex');
  const boundary = `dsn-${id}-${randomBytes(6).toString('hex')}`;
  const daemon = `MAILER-DAEMON@${input.hostname}`;
  const originalId = headerValue(input.original, 'message-id');
  const originalSubject = headerValue(input.original, 'subject');

  const header = [
    `From: Mail Delivery System <${daemon}>`,
    `To: <${headerSafe(input.to, 512)}>`,
    `Subject: ${failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)'}`,
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <${id}.dsn@${input.hostname}>`,
    ...(originalId ? [`In-Reply-To: ${headerSafe(originalId)}`, `References: ${headerSafe(originalId)}`] : []),
    // RFC 3834 §5: a machine's answer, so vacation responders and the like stay quiet.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF}\tboundary="${boundary}"`,
  ];

  const human = failed
    ? [
        `This is the mail system at host ${input.hostname}.`,
        '',
        'Your message could not be delivered to one or more recipients.',
        'It is attached below (headers only). The reasons:',
      ]
    : [
        `This is the mail system at host ${input.hostname}.`,
        '',
        'Your message has not been delivered yet to the recipients below.',
        'This is a warning only: you do not need to send it again.',
        ...(input.willRetryUntil ? [`Delivery will be tried until ${rfc5322Date(input.willRetryUntil)}.`] : []),
      ];
  if (originalSubject) human.push('', `Subject: ${headerSafe(originalSubject, 200)}`);
  human.push('');
  for (const r of input.recipients) human.push(`<${headerSafe(r.address, 512)}>: ${headerSafe(r.diagnostic)}`);

  // RFC 3464 §2.2 per-message fields, then §2.3 one block per recipient, blocks separated by blank lines.
  const perMessage = [`Reporting-MTA: dns; ${input.hostname}`, `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`];
  const perRecipient = input.recipients.map((r) =>
    [
      `Final-Recipient: rfc822; ${headerSafe(r.address, 512)}`,
      `Action: ${r.action}`,
      `Status: ${r.status}`,
      ...(r.remoteMta ? [`Remote-MTA: dns; ${headerSafe(r.remoteMta, 255)}`] : []),
      `Diagnostic-Code: smtp; ${headerSafe(r.diagnostic)}`,
      `Last-Attempt-Date: ${rfc5322Date(input.now)}`,
      ...(r.action === 'delayed' && input.willRetryUntil ? [`Will-Retry-Until: ${rfc5322Date(input.willRetryUntil)}`] : []),
    ].join(CRLF),
  );

  let headers = headerSection(input.original).toString('latin1');
  if (!headers.endsWith('\n')) headers += CRLF;
  headers = headers.replace(/\r?\n/g, CRLF);

  const body = [
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Description: Notification',
    '',
    ...human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    [perMessage.join(CRLF), ...perRecipient].join(CRLF + CRLF),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered message headers',
    '',
    headers,
  ].join(CRLF);
  return Buffer.concat([
    Buffer.from(header.join(CRLF) + CRLF + CRLF + body, 'latin1'),
    Buffer.from(`--${boundary}--${CRLF}`, 'latin1'),
  ]);
}
