// SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO): the sort keys of a message from its stored
// ENVELOPE and state, and the comparison they define. Pure; ./commands/sort.ts loads the messages.
import libmime from 'libmime';
import { baseSubject, collationKey } from '../../core/mime/base-subject.ts';
import type { EnvelopeAddress, Envelope } from '../../core/mime/types.ts';
import type { MessageState } from '../../core/store/types.ts';
import type { SortCriterion, SortKey } from './wire/ast.ts';

/** What sorting and threading know of one message. */
export interface SortSubject {
  readonly msn: number;
  readonly state: MessageState;
  readonly envelope: Envelope;
}

/**
 * RFC 5256 §2.2: the sent date is the Date: header in UTC; when it is missing or cannot be read,
 * the internal date stands in for it.
 */
export function sentDate(subject: SortSubject): number {
  const parsed = subject.envelope.date ? Date.parse(subject.envelope.date.replace(/\([^)]*\)/g, ' ')) : NaN;
  return Number.isNaN(parsed) ? Date.parse(subject.state.internalDate) : parsed;
}

const decode = (text: string) => {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
};

/** RFC 5256 §3: CC, FROM, TO sort on the addr-mailbox of the first address ("" when none). */
const firstMailbox = (addresses: EnvelopeAddress[] | null) => collationKey(addresses?.find((a) => a.mailbox !== null)?.mailbox ?? '');

/** RFC 5957 §3: the display name of the first address when it has one, else its addr-spec. */
function displayKey(addresses: EnvelopeAddress[] | null): string {
  const first = addresses?.find((a) => a.mailbox !== null);
  if (!first) return '';
  const name = first.name ? decode(first.name).trim() : '';
  return collationKey(name !== '' ? name : `${first.mailbox}${first.host ? `@${first.host}` : ''}`);
}

function keyOf(key: SortKey, subject: SortSubject): string | number {
  const { envelope, state } = subject;
  switch (key) {
    // The internal date as a client sees it (INTERNALDATE, RFC 3501 §9 date-time): whole seconds.
    case 'ARRIVAL':
      return Math.floor(Date.parse(state.internalDate) / 1000);
    case 'DATE':
      return sentDate(subject);
    case 'SIZE':
      return state.size;
    case 'SUBJECT':
      return collationKey(baseSubject(envelope.subject).text);
    case 'FROM':
      return firstMailbox(envelope.from);
    case 'TO':
      return firstMailbox(envelope.to);
    case 'CC':
      return firstMailbox(envelope.cc);
    case 'DISPLAYFROM':
      return displayKey(envelope.from);
    case 'DISPLAYTO':
      return displayKey(envelope.to);
  }
}

const compareValues = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** The messages in the order of the criteria; exact ties in message-number order (RFC 5256 §3). */
export function sortMessages(subjects: readonly SortSubject[], criteria: readonly SortCriterion[]): SortSubject[] {
  const keyed = subjects.map((s) => ({ s, keys: criteria.map((c) => keyOf(c.key, s)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < criteria.length; i++) {
      const order = compareValues(a.keys[i]!, b.keys[i]!);
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    return a.s.msn - b.s.msn;
  });
  return keyed.map((k) => k.s);
}
