// RFC 3501 §6.3.11 APPEND (flags, date-time, synchronising and LITERAL+ literals, RFC 7888) with
// RFC 4315 APPENDUID. The blob goes to S3 under a fresh raw key first, then the message item with
// its MIME index is filed, as the inbound path does; APPENDLIMIT is enforced by the wire reader.
// An account whose quota the message would pass gets NO [OVERQUOTA] (RFC 9208 §4.3, RFC 5530 §3).
// A message with NUL octets gets NO [UNKNOWN-CTE]: RFC 3501 §9 keeps NUL out of literals, and
// RFC 3516 §4.4 answers so when the mailbox cannot store binary content, which ours cannot: BODY[]
// must serve the stored bytes in a literal. A literal8 ("~{n}") without NUL is stored as sent.
import { randomUUID } from 'node:crypto';
import { rawBlobKey } from '../../../core/blobs.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import { hasQuotaRoom } from '../../../core/store/quota.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';

/** RFC 9208 §4.3: the quota rule (core/store/quota.ts) in IMAP's words, NO [OVERQUOTA]; asked before the blob is stored. */
export async function requireQuotaRoom(ctx: CommandContext, account: string, bytes: number | (() => Promise<number>)): Promise<void> {
  if (!(await hasQuotaRoom(ctx.services.directory, account, bytes))) throw no('Over quota', 'OVERQUOTA');
}

export async function append(command: CommandOf<'APPEND'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const target = await resolveMailbox(ctx, state.account, command.mailbox, 'TRYCREATE');
  if (command.message.length === 0) throw no('Empty message', 'CANNOT');
  if (command.message.includes(0)) throw no('NUL octets must be sent in a Content-Transfer-Encoding (RFC 2045)', 'UNKNOWN-CTE');
  await requireQuotaRoom(ctx, state.account, command.message.length);
  const now = new Date();
  const id = randomUUID();
  const blobKey = rawBlobKey(id, now);
  await ctx.services.blobs.put(blobKey, command.message);
  const filed = await ctx.services.store.fileMessage({
    account: state.account,
    mailbox: target.name,
    deliveryKey: `imap-append:${id}`,
    blobKey,
    size: command.message.length,
    internalDate: (command.date?.instant ?? now).toISOString(),
    flags: [...new Set(command.flags)],
    index: indexMessage(command.message),
  });
  return { text: 'APPEND completed', code: `APPENDUID ${target.uidValidity} ${filed.uid}` };
}
