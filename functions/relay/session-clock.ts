// Where an SMTP client session stands and how long it may wait there: RFC 5321 §4.5.3.2's
// per-command timeouts, fed by nodemailer's transaction log (its documented `logger` option).

/** RFC 5321 §4.5.3.2 names the waits; each is a time limit on one step, not on silence. */
export interface SmtpTimeouts {
  /** TCP connect, and the TLS handshake of implicit TLS (no RFC figure). */
  readonly connectMs: number;
  /** The 220 greeting (§4.5.3.2.1). */
  readonly greetingMs: number;
  /** The reply to EHLO, STARTTLS (and its handshake), AUTH, MAIL (§4.5.3.2.2), RCPT (§4.5.3.2.3). */
  readonly commandMs: number;
  /** The 354 reply to DATA (§4.5.3.2.4). */
  readonly dataStartMs: number;
  /** Each block of the message handed to the socket (§4.5.3.2.5): a peer that stops reading. */
  readonly dataBlockMs: number;
  /** The reply to the final dot (§4.5.3.2.6). */
  readonly dataEndMs: number;
}

/** A step waiting for the peer: what a log line and a reason call it, and its limit. */
interface Step {
  readonly label: string;
  readonly ms: number;
}

/**
 * Follows one session: the steps that wait on the peer form a queue (PIPELINING sends several
 * commands before the first reply), and the oldest one runs on a timer. A step that runs out
 * calls `onExpired` once; the caller ends the session. Not reset by partial replies: a peer
 * that answers one byte a second still runs out.
 */
export class SessionClock {
  private readonly waiting: Step[] = [];
  private timer: NodeJS.Timeout | undefined;
  private expired = false;
  /** The last reply to EHLO: what the server offered (STARTTLS, AUTH). */
  ehloReply: string | null = null;

  constructor(
    private readonly timeouts: SmtpTimeouts,
    private readonly onExpired: (step: string, ms: number) => void,
  ) {}

  /** The step the session is in, worded to follow "while": "waiting for the reply to RCPT TO"; null between steps. */
  get step(): string | null {
    return this.waiting[0]?.label ?? null;
  }

  /** Call when connecting starts. */
  start(): void {
    this.push({ label: 'connecting', ms: this.timeouts.connectMs });
  }

  /** A bunyan-style logger for SMTPConnection's `logger` option, with `transactionLog: true`. */
  readonly logger = {
    trace: () => {},
    debug: (entry: { tnx?: string }, message: string) => this.observe(entry, message),
    info: (entry: { tnx?: string }, message: string) => this.observe(entry, message),
    warn: () => {},
    error: () => {},
    fatal: () => {},
  };

  /** Another block of the message was taken by the connection (§4.5.3.2.5: the wait restarts). */
  messageBlockTaken(): void {
    if (this.step === SENDING) this.replaceHead({ label: SENDING, ms: this.timeouts.dataBlockMs });
  }

  /** All of the message was taken: from here the wait is for the reply to the final dot. */
  messageTaken(): void {
    if (this.step === SENDING) this.replaceHead({ label: FINAL_DOT, ms: this.timeouts.dataEndMs });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
  }

  private observe(entry: { tnx?: string }, message: string): void {
    if (typeof message !== 'string') return;
    if (entry.tnx === 'network' && / established to /.test(message)) {
      if (this.step === 'connecting') this.replaceHead({ label: 'waiting for the greeting', ms: this.timeouts.greetingMs });
    } else if (entry.tnx === 'client') {
      // The EHLO after STARTTLS is the first thing sent once the handshake is done.
      if (this.step === HANDSHAKE) this.shift();
      const step = this.stepFor(message);
      if (step) this.push(step);
    } else if (entry.tnx === 'server') {
      const done = this.shift();
      if (done?.label === 'waiting for the reply to EHLO' && message.startsWith('2')) this.ehloReply = message;
      if (done?.label === 'waiting for the reply to STARTTLS' && message.startsWith('2')) this.unshift({ label: HANDSHAKE, ms: this.timeouts.commandMs });
      if (done?.label === 'waiting for the reply to DATA' && message.startsWith('3')) this.unshift({ label: SENDING, ms: this.timeouts.dataBlockMs });
    }
  }

  private stepFor(line: string): Step | null {
    const verb = /^\s*([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase();
    const t = this.timeouts;
    switch (verb) {
      case 'EHLO': case 'HELO': case 'LHLO': return { label: 'waiting for the reply to EHLO', ms: t.commandMs };
      case 'STARTTLS': return { label: 'waiting for the reply to STARTTLS', ms: t.commandMs };
      case 'MAIL': return { label: 'waiting for the reply to MAIL FROM', ms: t.commandMs };
      case 'RCPT': return { label: 'waiting for the reply to RCPT TO', ms: t.commandMs };
      case 'DATA': return { label: 'waiting for the reply to DATA', ms: t.dataStartMs };
      // The transaction has its answer before QUIT; nobody waits for the reply to it.
      case 'QUIT': return null;
      // AUTH and its continuation lines (base64, logged masked), RSET, anything else.
      default: return { label: line === '.' ? FINAL_DOT : 'waiting for the reply to AUTH', ms: line === '.' ? t.dataEndMs : t.commandMs };
    }
  }

  private push(step: Step): void {
    this.waiting.push(step);
    if (this.waiting.length === 1) this.arm();
  }

  private unshift(step: Step): void {
    this.waiting.unshift(step);
    this.arm();
  }

  private shift(): Step | undefined {
    const done = this.waiting.shift();
    this.arm();
    return done;
  }

  private replaceHead(step: Step): void {
    this.waiting[0] = step;
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.waiting[0];
    if (!head || this.expired) return;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.onExpired(head.label, head.ms);
    }, head.ms);
  }
}

const HANDSHAKE = 'doing the TLS handshake';
const SENDING = 'sending the message';
const FINAL_DOT = 'waiting for the reply to the final dot';
