// One SMTP transaction to one host with nodemailer's SMTPConnection: EHLO with our name,
// STARTTLS when offered, optional AUTH (smarthost), and the answer for every recipient.
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** RFC 5321 §4.5.3.2 gives minimums (5 min greeting/MAIL/RCPT, 10 min after the final dot). */
export interface SmtpTimeouts {
  /** TCP (and implicit TLS) connect. */
  readonly connectMs: number;
  /** The 220 greeting (§4.5.3.2.1: 5 minutes). */
  readonly greetingMs: number;
  /** Any silence after that, the longest being the wait for the reply to the final dot (§4.5.3.2.6: 10 minutes). */
  readonly idleMs: number;
}

export interface SmtpTarget {
  /** The host's DNS name: TLS server name and Remote-MTA in reports. */
  readonly name: string;
  /** Where to connect (an address, or the name itself). */
  readonly address: string;
  readonly port: number;
  /** Implicit TLS (465). */
  readonly secure: boolean;
  /** Fail unless STARTTLS succeeds (smarthost); otherwise STARTTLS is opportunistic (RFC 7435). */
  readonly requireTls: boolean;
  /** Verify the certificate: only where the peer is known (smarthost); MX TLS is opportunistic. */
  readonly verifyCertificate: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
}

export interface RecipientReply {
  readonly address: string;
  /** 2 = accepted, 4 = temporary, 5 = permanent. */
  readonly class: 2 | 4 | 5;
  readonly reply: string;
}

export type TransactionResult =
  /** The host answered for the recipients (some may be refused). */
  | { readonly kind: 'answered'; readonly replies: RecipientReply[] }
  /**
   * The host could not be used (no connection, timeout, TLS failure, 4xx greeting or MAIL):
   * the next host may be tried. `permanent` when it answered 5xx before any recipient.
   */
  | { readonly kind: 'host-failed'; readonly reply: string; readonly permanent: boolean };

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

const classOf = (code: number | undefined): 2 | 4 | 5 => (code === undefined ? 4 : code >= 500 ? 5 : code >= 400 ? 4 : 2);
const oneLine = (text: string) => text.replace(/\s*\r?\n\s*/g, ' ').trim();

/**
 * Sends `message` to `recipients` on one host. Never throws for SMTP or network trouble: every
 * outcome is data. `deadline` (epoch ms) ends the attempt early (the Lambda's remaining time).
 */
export async function sendTransaction(options: {
  target: SmtpTarget;
  heloName: string;
  mailFrom: string;
  recipients: readonly string[];
  message: Buffer;
  timeouts: SmtpTimeouts;
  deadline: number;
}): Promise<TransactionResult> {
  const { target, timeouts } = options;
  const connection = new SMTPConnection({
    host: target.address,
    port: target.port,
    secure: target.secure,
    requireTLS: target.requireTls,
    opportunisticTLS: !target.requireTls,
    name: options.heloName,
    servername: target.name,
    connectionTimeout: timeouts.connectMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.idleMs,
    socketCloseTimeout: 0,
    logger: false,
    tls: { rejectUnauthorized: target.verifyCertificate, servername: target.name, minVersion: 'TLSv1.2' },
  });
  // Set once MAIL FROM goes out: from then on the host has answered for this message.
  let envelopeStarted = false;
  const remaining = options.deadline - Date.now();
  let deadlineHit = false;
  const timer = setTimeout(() => {
    deadlineHit = true;
    connection.close();
  }, Math.max(0, remaining));
  // An 'error' event without a listener would crash the process; the callbacks carry the errors.
  connection.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => connection.connect((err?: Error) => (err ? reject(err) : resolve())));
    if (target.auth) {
      await new Promise<void>((resolve, reject) => connection.login({ user: target.auth!.user, pass: target.auth!.pass }, (err) => (err ? reject(err) : resolve())));
    }
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
      envelopeStarted = true;
      connection.send({ from: options.mailFrom, to: [...options.recipients] }, options.message, (err, result) => (err ? reject(err) : resolve(result!)));
    });
    const refused = new Map<string, NodemailerError>();
    for (const e of (info.rejectedErrors ?? []) as NodemailerError[]) if (e.recipient) refused.set(e.recipient, e);
    const replies = options.recipients.map((address): RecipientReply => {
      const e = refused.get(address);
      if (e) return { address, class: classOf(e.responseCode), reply: oneLine(e.response ?? e.message) };
      return { address, class: 2, reply: oneLine(info.response ?? '250 OK') };
    });
    connection.quit();
    return { kind: 'answered', replies };
  } catch (caught) {
    const err = caught as NodemailerError;
    connection.close();
    if (deadlineHit) {
      return hostOrAll(envelopeStarted, options.recipients, '451 4.4.7 Delivery attempt ran out of time', false);
    }
    // Every recipient refused: each with its own reply.
    if (err.command === 'RCPT TO' && err.rejectedErrors?.length) {
      const byRecipient = new Map(err.rejectedErrors.filter((e) => e.recipient).map((e) => [e.recipient!, e] as const));
      return {
        kind: 'answered',
        replies: options.recipients.map((address) => {
          const e = byRecipient.get(address) ?? err;
          return { address, class: classOf(e.responseCode) === 2 ? 4 : classOf(e.responseCode), reply: oneLine(e.response ?? e.message) };
        }),
      };
    }
    const reply = err.response ? oneLine(err.response) : `451 4.4.1 ${err.code ?? 'ERROR'}: ${oneLine(err.message)}`;
    const permanent = err.responseCode !== undefined && err.responseCode >= 500;
    // Before the envelope (connect, greeting, EHLO, STARTTLS, AUTH) the next host may do better.
    if (!envelopeStarted) return { kind: 'host-failed', reply, permanent };
    // MAIL FROM refused, DATA refused, or the peer went away mid-transaction: the same answer
    // for every recipient. A temporary failure after the final dot may mean the host did take
    // the message: that is SMTP's known duplicate window (RFC 1047), accepted for no loss.
    if (err.command === 'MAIL FROM' && !permanent) return { kind: 'host-failed', reply, permanent };
    return hostOrAll(true, options.recipients, reply, permanent);
  } finally {
    clearTimeout(timer);
  }
}

function hostOrAll(started: boolean, recipients: readonly string[], reply: string, permanent: boolean): TransactionResult {
  if (!started) return { kind: 'host-failed', reply, permanent };
  return { kind: 'answered', replies: recipients.map((address) => ({ address, class: permanent ? 5 : 4, reply })) };
}
