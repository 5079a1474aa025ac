// RFC 7162 §3.2.5 quick resynchronisation at SELECT/EXAMINE: what expunged since the client's
// modseq (VANISHED (EARLIER)) and what changed (FETCH), from the message states SELECT reads anyway.
// Expunged messages stay as tombstones carrying the modseq of their expunge for 400 days
// (core/store, docs/decisions/0017-qresync.md); a UID below uidNext with no item at all lost its
// tombstone to that expiry and is reported as vanished too, which RFC 7162 §3.2.5.2 allows (the
// client ignores UIDs it does not have).
import type { MessageState, MessageStore } from '../../core/store/types.ts';
import type { MailboxView } from './mailbox-view.ts';
import { compactSequenceSet, normaliseSequenceSet, sequenceSetContains, type Interval, type SequenceSet } from './sequence-set.ts';
import type { QresyncParameter } from './wire/ast.ts';
import { atom, untagged } from './wire/writer.ts';

/** "1:3,7": an interval list in wire form. */
const formatIntervals = (intervals: readonly Interval[]) => intervals.map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',');

/** The intersection of two sorted, merged interval lists. */
function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/**
 * UIDs below uidNext that are gone for a client that saw everything up to `modSeq`: tombstones
 * with a later modseq, and UIDs without any item (their tombstone expired). States are in UID order.
 */
export function vanishedSince(states: readonly MessageState[], uidNext: number, modSeq: number): Interval[] {
  const out: Interval[] = [];
  const add = (lo: number, hi: number) => {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) out[out.length - 1] = [last[0], Math.max(last[1], hi)];
    else out.push([lo, hi]);
  };
  let next = 1;
  for (const state of states) {
    if (state.uid >= uidNext) break;
    if (state.uid > next) add(next, state.uid - 1);
    if (state.expunged && state.modSeq > modSeq) add(state.uid, state.uid);
    next = state.uid + 1;
  }
  if (next < uidNext) add(next, uidNext - 1);
  return out;
}

/** The responses that follow SELECT's when it carried a QRESYNC parameter whose UIDVALIDITY still holds. */
export function qresyncResponses(view: MailboxView, states: readonly MessageState[], parameter: QresyncParameter): Buffer[] {
  // §3.2.5: a UIDVALIDITY that changed means the client's cache is void; it gets a plain SELECT.
  if (parameter.uidValidity !== view.uidValidity) return [];
  const modSeq = Number(parameter.modSeq);
  const lastUid = view.nextUid - 1;
  let vanished = vanishedSince(states, view.nextUid, modSeq);
  if (parameter.knownUids?.kind === 'ranges') vanished = intersect(vanished, normaliseSequenceSet(parameter.knownUids, Math.max(lastUid, 1)));
  const out: Buffer[] = [];
  if (vanished.length > 0) out.push(untagged(atom('VANISHED'), [atom('EARLIER')], atom(formatIntervals(vanished))));
  for (const uid of view.allUids()) {
    const state = view.stateOf(uid)!;
    if (state.modSeq <= modSeq) continue;
    out.push(untagged(view.msnOf(uid), atom('FETCH'), [atom('UID'), uid, atom('FLAGS'), state.flags.map(atom), atom('MODSEQ'), [state.modSeq]]));
  }
  return out;
}

/**
 * RFC 7162 §3.2.6 UID FETCH … (CHANGEDSINCE m VANISHED): the UIDs of the set expunged after m, as
 * one VANISHED (EARLIER), from the tombstones the byModSeq index returns (kept 400 days; see
 * docs/decisions/0017-qresync.md for a modseq older than that).
 */
export async function vanishedForFetch(store: MessageStore, view: MailboxView, set: SequenceSet, changedSince: bigint): Promise<Buffer[]> {
  if (set.kind !== 'ranges') return [];
  const lastUid = view.nextUid - 1;
  const changes = await store.listStateChanges(view.mailbox.id, Number(changedSince));
  const gone = changes.filter((s) => s.expunged && s.uid <= lastUid && sequenceSetContains(set, s.uid, lastUid)).map((s) => s.uid);
  return gone.length > 0 ? [untagged(atom('VANISHED'), [atom('EARLIER')], atom(compactSequenceSet(gone)))] : [];
}
