// Sequence sets against a session's view (RFC 3501 §6.4.8, §9): message numbers or UIDs to the
// UIDs of the view, "*" being the last message / the highest UID the client knows, "$" the saved
// SEARCH result (RFC 5182).
import type { MailboxView } from './mailbox-view.ts';
import { bad } from './errors.ts';
import { expandSequenceSet, sequenceSetContains, type SequenceSet } from './sequence-set.ts';

/** The UIDs of the view the set names, ascending. A message number beyond EXISTS is BAD (RFC 3501 §9 seq-number). */
export function resolveMessageSet(view: MailboxView, set: SequenceSet, uid: boolean): number[] {
  // RFC 5182 §2.1: "$" names the saved result (kept as UIDs, so expunged messages simply drop
  // out); referring to an empty one is not an error.
  if (set.kind === 'saved') return view.allUids().filter((u) => view.savedSearch.has(u));
  const uids = view.allUids();
  if (uid) {
    const max = uids[uids.length - 1] ?? 0;
    // A UID range that names no existing message is not an error (RFC 3501 §6.4.8).
    return uids.filter((u) => sequenceSetContains(set, u, max));
  }
  const exists = uids.length;
  for (const r of set.ranges) {
    for (const n of [r.from, r.to]) {
      if ((n === '*' && exists === 0) || (typeof n === 'number' && n > exists)) throw bad('Invalid message sequence number');
    }
  }
  return [...expandSequenceSet(set, exists)].map((msn) => uids[msn - 1]!);
}
