// Builds the IMAP ENVELOPE (RFC 3501 §7.4.2) from a header block's raw field values.

import { clip, headerText } from './bytes.ts';
import { parseAddressList } from './address.ts';
import type { Envelope, EnvelopeAddress } from './types.ts';

/** Longest unstructured ENVELOPE string kept (RFC 5322 §2.1.1's line limit). */
const MAX_ENVELOPE_STRING = 998;
const ADDRESS_FIELDS = ['from', 'sender', 'reply-to', 'to', 'cc', 'bcc'] as const;

/**
 * The envelope of a message whose header fields are `fields` (binary strings, as read by
 * readHeader). Its JSON form stays within `allowance` bytes: strings are cut and address
 * lists end early when a header is huge, since the index must fit one DynamoDB item.
 */
export function buildEnvelope(fields: ReadonlyMap<string, string>, allowance: number): Envelope {
  const stringMax = Math.max(32, Math.min(MAX_ENVELOPE_STRING, Math.floor(allowance / 16)));
  const text = (name: string): string | null => {
    const raw = fields.get(name);
    return raw ? clip(headerText(raw), stringMax) : null;
  };
  const date = text('date');
  const subject = text('subject');
  const inReplyTo = text('in-reply-to');
  const messageId = text('message-id');
  const fixedCost = JSON.stringify({ date, subject, inReplyTo, messageId }).length + 80;
  // Each address list gets an equal share, so sender/reply-to defaulting to from stays in bounds.
  const share = Math.max(0, Math.floor((allowance - fixedCost) / ADDRESS_FIELDS.length));

  const list = (name: string): EnvelopeAddress[] | null => {
    const raw = fields.get(name);
    if (!raw) return null;
    let spent = 2;
    const addresses = parseAddressList(raw, (address) => {
      spent += JSON.stringify(address).length + 1;
      // Leave room for a group end marker the parser may still have to add.
      return spent + 60 <= share;
    });
    return addresses.length > 0 ? addresses : null;
  };
  const from = list('from');
  return {
    date,
    subject,
    from,
    // "If the Sender or Reply-To lines are absent in the [RFC-2822] header, or are present
    // but empty, the server sets the corresponding member of the envelope to be the same
    // value as the from member" (RFC 3501 §7.4.2).
    sender: list('sender') ?? from,
    replyTo: list('reply-to') ?? from,
    to: list('to'),
    cc: list('cc'),
    bcc: list('bcc'),
    inReplyTo,
    messageId,
  };
}
