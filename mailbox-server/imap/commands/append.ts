// RFC 3501 §6.3.11 APPEND (flags, date-time, synchronising and LITERAL+ literals, RFC 7888) with
// RFC 4315 APPENDUID, RFC 3502 MULTIAPPEND (several messages in one command, all or none), and
// RFC 6855 §4 `UTF8 (literal8)` messages once UTF8=ACCEPT is enabled. The blob goes to S3 under a
// fresh raw key first, then the message item with its MIME index is filed, as the inbound path
// does; APPENDLIMIT is enforced by the wire reader.
// An account whose quota the message would pass gets NO [OVERQUOTA] (RFC 9208 §4.3, RFC 5530 §3).
// A message with NUL octets gets NO [UNKNOWN-CTE]: RFC 3501 §9 keeps NUL out of literals, and
// RFC 3516 §4.4 answers so when the mailbox cannot store binary content, which ours cannot: BODY[]
// must serve the stored bytes in a literal. A literal8 ("~{n}") without NUL is stored as sent.
import { randomUUID } from 'node:crypto';
import { rawBlobKey } from '../../../core/blobs.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { hasQuotaRoom } from '../../../core/store/quota.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad, no } from '../errors.ts';
import { utf8Names } from '../names.ts';
import { resolveMailbox } from '../resolve.ts';
import { compactSequenceSet } from '../sequence-set.ts';
import type { UserState } from '../state.ts';

/** RFC 9208 §4.3: the quota rule (core/store/quota.ts) in IMAP's words, NO [OVERQUOTA]; asked before the blob is stored. */
export async function requireQuotaRoom(ctx: CommandContext, account: string, bytes: number | (() => Promise<number>)): Promise<void> {
  if (!(await hasQuotaRoom(ctx.services.directory, account, bytes))) throw no('Over quota', 'OVERQUOTA');
}

/** Blobs stored at once for one MULTIAPPEND: a few requests in flight, not one per message. */
const BLOB_PUTS_AT_ONCE = 8;

export async function append(command: CommandOf<'APPEND'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  // The quota is read while the mailbox is looked up (two reads, one round trip); its answer is
  // still given after the mailbox's and the messages' own.
  const quota = requireQuotaRoom(ctx, state.account, command.messages.reduce((n, m) => n + m.message.length, 0));
  quota.catch(() => undefined);
  const target = await resolveMailbox(ctx, state.account, command.mailbox, 'TRYCREATE');
  // RFC 3502 §4: all or none. Everything that can refuse a message is asked before anything is written.
  for (const { message, utf8 } of command.messages) {
    if (utf8 && !utf8Names(ctx.enabled)) throw bad('APPEND UTF8 needs ENABLE UTF8=ACCEPT (RFC 6855 §4)');
    if (message.length === 0) throw no('Empty message', 'CANNOT');
    if (message.includes(0)) throw no('NUL octets must be sent in a Content-Transfer-Encoding (RFC 2045)', 'UNKNOWN-CTE');
  }
  await quota;
  const now = new Date();
  const stored = command.messages.map((m) => ({ ...m, id: randomUUID(), blobKey: '' }));
  for (let i = 0; i < stored.length; i += BLOB_PUTS_AT_ONCE) {
    await Promise.all(
      stored.slice(i, i + BLOB_PUTS_AT_ONCE).map(async (m) => {
        m.blobKey = rawBlobKey(m.id, now);
        await ctx.services.blobs.put(m.blobKey, m.message);
      }),
    );
  }
  // Filed one after another, so the UIDs ascend in the order sent (RFC 3502 §6.3.11 note). A
  // failure part-way expunges what this command filed: a session may see those messages come and
  // go, but the mailbox ends as it began, and the client's NO is true.
  const uids: number[] = [];
  try {
    for (const m of stored) {
      const filed = await ctx.services.store.fileMessage({
        account: state.account,
        mailbox: target.name,
        mailboxId: target.id,
        deliveryKey: `imap-append:${m.id}`,
        // Made for this command alone: no retry files it again, so no delivery claim is kept.
        freshKey: true,
        blobKey: m.blobKey,
        size: m.message.length,
        internalDate: (m.date?.instant ?? now).toISOString(),
        flags: [...new Set(m.flags)],
        index: indexMessage(m.message),
      });
      uids.push(filed.uid);
    }
  } catch (err) {
    if (uids.length > 0) await ctx.services.store.expunge(state.account, target.id, uids).catch(() => undefined);
    throw err;
  }
  // RFC 4315 §3: a uid-set for a MULTIAPPEND, in the order the messages were sent.
  return { text: 'APPEND completed', code: `APPENDUID ${target.uidValidity} ${compactSequenceSet(uids)}` };
}
