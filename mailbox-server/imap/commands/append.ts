// RFC 3501 §6.3.11 APPEND (flags, date-time, synchronising and LITERAL+ literals, RFC 7888) with
// RFC 4315 APPENDUID. The blob goes to S3 under a fresh raw key first, then the message item with
// its MIME index is filed, as the inbound path does; APPENDLIMIT is enforced by the wire reader.
import { randomUUID } from 'node:crypto';
import { rawBlobKey } from '../../../core/blobs.ts';
import { indexMessage } from '../../../core/mime/index.ts';
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { no } from '../errors.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';

export async function append(command: CommandOf<'APPEND'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const target = await resolveMailbox(ctx, state.account, command.mailbox, 'TRYCREATE');
  if (command.message.length === 0) throw no('Empty message', 'CANNOT');
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
