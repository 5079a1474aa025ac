// What an authenticated sender may do on submission (RFC 6409 §6.1 enforce submission rights): which envelope
// senders it may use, and how much it may send (per-account limits shared by every edge task, whose
// counters and defaults are core/sending-limits.ts), and the replies the edge gives when it may not.
import { addressKey } from '../core/addresses.ts';
import { hourWindow, type SendingLimits, type SubmissionCounter } from '../core/sending-limits.ts';
import { SmtpError } from '../core/smtp-reply.ts';
import type { RecipientRoute } from '../core/store/types.ts';

export const SENDING_REPLIES = {
  // RFC 3463 X.7.1: the sender is not allowed to use this address; permanent, retrying cannot help
  notYourAddress: (address: string) => new SmtpError(553, '5.7.1', `Sender address <${address}> is not owned by the authenticated user`),
  // the same rule for the From: and Sender: fields, checked at the end of DATA
  notYourHeaderAddress: (field: 'From' | 'Sender', address: string | null) =>
    new SmtpError(553, '5.7.1', address === null ? `${field}: holds an address that does not parse` : `${field}: address <${address}> is not one the authenticated user may use`),
  // RFC 5322 §3.6: exactly one From field; a second one is what a forger would hide behind
  oneFromField: () => new SmtpError(554, '5.6.0', 'Message refused: it needs exactly one From: field naming the sender (RFC 5322 §3.6)'),
  // RFC 6409 §6.1 lets the MSA enforce submission rights; users do not send bounces
  nullSender: () => new SmtpError(553, '5.7.1', 'The null sender <> is not allowed for authenticated users'),
  // temporary: the hour passes, and the client keeps the message in its outbox meanwhile
  hourlyLimit: (limit: number) => new SmtpError(451, '4.7.1', `Sending limit of ${limit} messages per hour reached, try again later`),
};

/** What an account may put in MAIL FROM, From: and Sender:, as the edge learns it per transaction. */
export interface SenderRights {
  /** The account, key form. */
  readonly account: string;
  /** Domains an administrator let it send as (Account.sendAsDomains), normalised. */
  readonly sendAsDomains: readonly string[];
  /** How the directory routes an address in key form (aliases, catch-alls). */
  route(address: string): Promise<RecipientRoute>;
}

/**
 * RFC 6409 §6.1: an authenticated account may send as its own address, as any address whose
 * mail reaches it (an alias among whose targets it is, following chains, or its domain's
 * catch-all for addresses nobody else holds), or as any address of a domain an administrator
 * allowed it (`mailctl account send-as`).
 */
export async function mayUseAddress(rights: SenderRights, address: string): Promise<boolean> {
  const key = addressKey(address);
  if (!key) return false;
  if (key === rights.account) return true;
  if (rights.sendAsDomains.includes(key.slice(key.lastIndexOf('@') + 1))) return true;
  const route = await rights.route(key);
  return route.kind === 'local' && route.accounts.includes(rights.account);
}

/** The envelope sender (MAIL FROM) by mayUseAddress; throws the reply to give when it is not allowed. */
export async function checkEnvelopeSender(rights: SenderRights, mailFrom: string): Promise<void> {
  if (mailFrom === '') throw SENDING_REPLIES.nullSender();
  if (!(await mayUseAddress(rights, mailFrom))) throw SENDING_REPLIES.notYourAddress(mailFrom);
}

/** The originator fields of a submitted message (RFC 5322 §3.6.2), as smtp-edge/submitted-header.ts reads them. */
export interface OriginatorFields {
  /** How many From: fields the header has (RFC 5322 §3.6: exactly one). */
  readonly fromFields: number;
  /** Every mailbox of every From: and Sender: field, `local@domain` as written; null for one that does not parse. */
  readonly from: readonly (string | null)[];
  readonly sender: readonly (string | null)[];
}

/**
 * RFC 6409 §6.1 applied to the header, which is what a reader sees and what DMARC judges
 * (RFC 7489 §3.1): one From: field naming at least one mailbox, and every From: and Sender:
 * mailbox one the account may use. Throws the reply to give.
 */
export async function checkOriginatorFields(rights: SenderRights, fields: OriginatorFields): Promise<void> {
  if (fields.fromFields !== 1 || fields.from.length === 0) throw SENDING_REPLIES.oneFromField();
  for (const [name, addresses] of [['From', fields.from], ['Sender', fields.sender]] as const) {
    for (const address of addresses) {
      if (address === null || !(await mayUseAddress(rights, address))) throw SENDING_REPLIES.notYourHeaderAddress(name, address);
    }
  }
}

/** Counts one submission; throws the 451 4.7.1 reply when the account is over its hourly limit. */
export async function countAgainstHourlyLimit(counter: SubmissionCounter, account: string, limits: SendingLimits, at = new Date()): Promise<number> {
  const count = await counter.countSubmission(account, hourWindow(at));
  if (count > limits.maxMessagesPerHour) throw SENDING_REPLIES.hourlyLimit(limits.maxMessagesPerHour);
  return count;
}
