// One SMTP transaction to one host with nodemailer's SMTPConnection: EHLO with our name,
// STARTTLS when offered (or required), optional AUTH (smarthost), and the answer for every recipient.
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SessionClock, type SmtpTimeouts } from './session-clock.ts';

export type { SmtpTimeouts } from './session-clock.ts';

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
  /** PEM certificates to trust instead of the system's (a smarthost under a private CA). */
  readonly trustedCa?: string;
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
  | { readonly kind: 'host-failed'; readonly reply: string; readonly permanent: boolean }
  /**
   * The transaction had begun (MAIL FROM went out) and broke off before the host answered for
   * the message: closed, silent, or out of time. An unfinished transaction has no effect
   * (RFC 5321 §3.3), so every recipient is tried again later.
   */
  | { readonly kind: 'interrupted'; readonly reply: string };

interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

/** A reason of our own (timeout, deadline, closed connection): always a temporary failure. */
class LocalFailure extends Error {
  constructor(readonly reply: string) {
    super(reply);
  }
}

const classOf = (code: number | undefined): 2 | 4 | 5 => (code === undefined ? 4 : code >= 500 ? 5 : code >= 400 ? 4 : 2);
const oneLine = (text: string) => text.replace(/\s*\r?\n\s*/g, ' ').trim();
const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;
/** Blocks of the message handed to the connection; each one taken restarts the §4.5.3.2.5 wait. */
const MESSAGE_BLOCK_BYTES = 64 * 1024;
const QUIT_GRACE_MS = 2000;

/**
 * Sends `message` to `recipients` on one host. Never throws for SMTP or network trouble and
 * always settles: every outcome is data, with the server's words or a reason of ours. Each step
 * has its RFC 5321 §4.5.3.2 limit (`timeouts`), and `deadline` (epoch ms; the Lambda's remaining
 * time) ends the attempt whatever step it is in.
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
  const host = target.name;
  let fail!: (reason: Error) => void;
  // Every way the session can end early rejects this one promise, and each step races it: an
  // error nodemailer only emits (during connect, EHLO, STARTTLS), a close, a step out of time.
  const stopped = new Promise<never>((_, reject) => { fail = reject; });
  stopped.catch(() => {});
  const clock = new SessionClock(timeouts, (step, ms) => fail(new LocalFailure(step === 'connecting'
    ? `451 4.4.1 Connect to ${host}:${target.port} timed out after ${seconds(ms)}`
    : `451 4.4.2 ${host} timed out after ${seconds(ms)} while ${step}`)));
  const remaining = Math.max(0, options.deadline - Date.now());
  // nodemailer's own timers are only a backstop past the deadline: the clock and the deadline decide.
  const backstop = remaining + 5000;
  const connection = new SMTPConnection({
    host: target.address,
    port: target.port,
    secure: target.secure,
    requireTLS: target.requireTls,
    opportunisticTLS: !target.requireTls,
    name: options.heloName,
    servername: target.name,
    connectionTimeout: backstop,
    greetingTimeout: backstop,
    socketTimeout: backstop,
    socketCloseTimeout: 0,
    logger: clock.logger as unknown as SMTPConnection.Options['logger'],
    transactionLog: true,
    tls: { rejectUnauthorized: target.verifyCertificate, servername: target.name, minVersion: 'TLSv1.2', ...(target.trustedCa ? { ca: target.trustedCa } : {}) },
  });
  connection.on('error', (err: Error) => fail(err));
  connection.once('end', () => fail(new LocalFailure(`451 4.4.2 ${host} closed the connection while ${clock.step ?? 'idle'}`)));
  const deadlineTimer = setTimeout(() => fail(new LocalFailure(
    `451 4.4.7 Delivery attempt to ${host} stopped at its deadline (the function's remaining time) while ${clock.step ?? 'idle'}`,
  )), remaining);
  const step = <T>(run: (done: (err: Error | null | undefined | false, value?: T) => void) => void): Promise<T> =>
    Promise.race([new Promise<T>((resolve, reject) => run((err, value) => (err ? reject(err) : resolve(value as T)))), stopped]);

  // Set once MAIL FROM goes out: from then on a failure interrupts a transaction.
  let envelopeStarted = false;
  try {
    clock.start();
    await step<void>((done) => connection.connect(done));
    if (target.auth) await step<unknown>((done) => connection.login({ user: target.auth!.user, pass: target.auth!.pass }, done));
    envelopeStarted = true;
    const info = await step<SMTPConnection.SentMessageInfo>((done) =>
      connection.send({ from: options.mailFrom, to: [...options.recipients] }, messageStream(options.message, clock), done));
    const refused = new Map<string, NodemailerError>();
    for (const e of (info.rejectedErrors ?? []) as NodemailerError[]) if (e.recipient) refused.set(e.recipient, e);
    const replies = options.recipients.map((address): RecipientReply => {
      const e = refused.get(address);
      if (e) return { address, class: classOf(e.responseCode), reply: oneLine(e.response ?? e.message) };
      return { address, class: 2, reply: oneLine(info.response ?? '250 OK') };
    });
    // RFC 5321 §4.1.1.10: QUIT is a courtesy once the answer is in; a host that does not answer it is let go.
    connection.quit();
    setTimeout(() => connection.close(), QUIT_GRACE_MS).unref();
    return { kind: 'answered', replies };
  } catch (caught) {
    const err = caught as NodemailerError;
    connection.close();
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
    const local = caught instanceof LocalFailure;
    const reply = caught instanceof LocalFailure ? caught.reply : replyOf(err, target, clock);
    // STARTTLS and AUTH refusals are this relay's configuration against that host, not the
    // message's fault: retried, and bounced only at expiry (as Postfix's smtp_sasl_auth_soft_bounce).
    const permanent = !local && err.response !== undefined && err.responseCode !== undefined && err.responseCode >= 500 && err.code !== 'ETLS' && err.code !== 'EAUTH';
    // Before the envelope (connect, greeting, EHLO, STARTTLS, AUTH) the next host may do better.
    if (!envelopeStarted) return { kind: 'host-failed', reply, permanent };
    if (err.command === 'MAIL FROM' && !permanent && err.response) return { kind: 'host-failed', reply, permanent };
    // The host's answer for the whole message (MAIL FROM or DATA refused, the final dot refused).
    if (err.response && !local) {
      return { kind: 'answered', replies: options.recipients.map((address) => ({ address, class: permanent ? 5 : 4, reply })) };
    }
    // Broken off mid-transaction. After the final dot the host may have taken the message:
    // that is SMTP's known duplicate window (RFC 1047), accepted for no loss.
    return { kind: 'interrupted', reply };
  } finally {
    clearTimeout(deadlineTimer);
    clock.stop();
  }
}

/** The message in blocks, telling the clock as each is taken (RFC 5321 §4.5.3.2.5) and when all are. */
function messageStream(message: Buffer, clock: SessionClock): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: MESSAGE_BLOCK_BYTES,
    read() {
      if (offset > 0) clock.messageBlockTaken();
      if (offset >= message.length) {
        clock.messageTaken();
        this.push(null);
        return;
      }
      const end = Math.min(offset + MESSAGE_BLOCK_BYTES, message.length);
      this.push(message.subarray(offset, end));
      offset = end;
    },
  });
}

/** The reply for a failure nodemailer reported: the server's words where it said any, else ours. */
function replyOf(err: NodemailerError, target: SmtpTarget, clock: SessionClock): string {
  const host = target.name;
  const detail = oneLine(err.message.replace(/^Error initiating TLS - /, '').replace(/: [2-5]\d\d[ -][\s\S]*$/, ''));
  if (err.code === 'ETLS') {
    // RFC 3207 §4: STARTTLS is only for a server that lists it; with TLS required, not offered is a failure of its own.
    if (target.requireTls && clock.ehloReply !== null && !/[ -]STARTTLS\b/im.test(clock.ehloReply)) {
      return `451 4.7.4 ${host} did not offer STARTTLS, which this relay requires for it${err.response ? ` (STARTTLS answered: ${oneLine(err.response)})` : ''}`;
    }
    if (err.response) return `451 4.7.4 ${host} refused STARTTLS: ${oneLine(err.response)}`;
    return `451 4.7.5 TLS handshake with ${host} failed: ${detail}`;
  }
  if (err.code === 'EAUTH') return `451 4.7.8 ${host} did not accept the relay's credentials: ${err.response ? oneLine(err.response) : detail}`;
  if (err.response) return oneLine(err.response);
  const code = err.originalCode ?? err.code ?? 'ERROR';
  // A socket error during the upgrade: the certificate was refused, or what came was no TLS.
  if (clock.step === 'doing the TLS handshake') return `451 4.7.5 TLS handshake with ${host} failed: ${detail}`;
  if (clock.step === 'connecting') {
    // Implicit TLS (465): certificate and protocol trouble surface as a socket error while connecting.
    if (target.secure && /CERT|TLS|SSL|certificate/i.test(`${code} ${err.message}`)) return `451 4.7.5 TLS handshake with ${host} failed: ${detail}`;
    return `451 4.4.1 Connect to ${host}:${target.port} failed: ${code === err.code ? detail : `${code} (${detail})`}`;
  }
  if (/closed unexpectedly/i.test(err.message)) return `451 4.4.2 ${host} closed the connection while ${clock.step ?? 'idle'}`;
  return `451 4.4.2 ${host}: ${code}: ${detail}${clock.step ? ` (while ${clock.step})` : ''}`;
}
