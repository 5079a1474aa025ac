// Copying messages between mailboxes of one account by filing a new item that shares the blob
// (the store counts the reference): COPY, MOVE and the INBOX rename all go through here.
import { randomUUID } from 'node:crypto';
import type { Mailbox, MessageStore } from '../../core/store/types.ts';
import { compactSequenceSet } from './sequence-set.ts';

/** Batch size of reads: bounds memory when a client copies a large set. */
const COPY_BATCH = 100;

/** Copies the live messages among `uids` (ascending) and returns source→destination UID pairs in source order. */
export async function copyMessages(
  store: MessageStore,
  account: string,
  sourceMailboxId: string,
  uids: readonly number[],
  target: Mailbox,
): Promise<Array<readonly [number, number]>> {
  const pairs: Array<readonly [number, number]> = [];
  const sorted = [...uids].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i += COPY_BATCH) {
    const messages = await store.getMessages(sourceMailboxId, sorted.slice(i, i + COPY_BATCH));
    for (const message of messages) {
      const filed = await store.fileMessage({
        account,
        mailbox: target.name,
        mailboxId: target.id,
        deliveryKey: `imap-copy:${randomUUID()}`,
        freshKey: true,
        blobKey: message.blobKey,
        size: message.size,
        internalDate: message.internalDate,
        flags: message.flags,
        index: message.index,
        ...(message.headerPrefix ? { headerPrefix: message.headerPrefix } : {}),
      });
      pairs.push([message.uid, filed.uid]);
    }
  }
  return pairs;
}

/** RFC 4315 §3 COPYUID of COPY and MOVE: the target's UIDVALIDITY, the source UIDs, the new UIDs. */
export function copyUidCode(target: Mailbox, pairs: ReadonlyArray<readonly [number, number]>): string {
  return `COPYUID ${target.uidValidity} ${compactSequenceSet(pairs.map(([from]) => from))} ${compactSequenceSet(pairs.map(([, to]) => to))}`;
}
