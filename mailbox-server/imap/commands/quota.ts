// RFC 9208 QUOTA with the STORAGE resource (QUOTA=RES-STORAGE): §4.1.1 GETQUOTA, §4.1.2
// GETQUOTAROOT, §4.1.3 SETQUOTA. An account has one quota root, "", over all its mailboxes: the
// quota and usage counter of core/store/quota.ts. Quotas are an administrator's setting
// (`mailctl account quota`), so SETQUOTA is refused.
import type { QuotaUsage } from '../../../core/store/quota.ts';
import type { Directory } from '../../../core/store/types.ts';
import type { CommandContext, CommandOf, Completion, ImapServices } from '../context.ts';
import { no } from '../errors.ts';
import { mailboxNameToWire } from '../names.ts';
import { resolveMailbox } from '../resolve.ts';
import type { UserState } from '../state.ts';
import { atom, untagged } from '../wire/writer.ts';

/** The account's only quota root. */
const QUOTA_ROOT = '';

/** RFC 9208 §5.1: STORAGE is counted in units of 1024 octets; a part-used unit counts. */
export const storageUnits = (octets: number) => Math.ceil(octets / 1024);

/** The account's quota and usage, or null when it has none (then it has no quota root either). */
async function accountQuota(ctx: CommandContext, account: string): Promise<QuotaUsage | null> {
  const directory = ctx.services.directory as ImapServices['directory'] & Pick<Directory, 'quotaUsage'>;
  return directory.quotaUsage ? directory.quotaUsage(account) : null;
}

/** `* QUOTA "" (STORAGE used limit)`; the limit rounds down, so a client never plans on room it lacks. */
const quotaResponse = (usage: QuotaUsage) => untagged(atom('QUOTA'), QUOTA_ROOT, [atom('STORAGE'), storageUnits(usage.usedBytes), Math.floor(usage.quotaBytes / 1024)]);

export async function getQuota(command: CommandOf<'GETQUOTA'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const usage = command.root === QUOTA_ROOT ? await accountQuota(ctx, state.account) : null;
  if (!usage) throw no('No such quota root', 'NONEXISTENT');
  await ctx.send(quotaResponse(usage));
  return { text: 'GETQUOTA completed' };
}

export async function getQuotaRoot(command: CommandOf<'GETQUOTAROOT'>, ctx: CommandContext, state: UserState): Promise<Completion> {
  const mailbox = await resolveMailbox(ctx, state.account, command.mailbox);
  const usage = await accountQuota(ctx, state.account);
  // §4.1.2: QUOTAROOT lists the mailbox's roots (none without a quota), then a QUOTA for each.
  await ctx.send(untagged(atom('QUOTAROOT'), mailboxNameToWire(mailbox.name), ...(usage ? [QUOTA_ROOT] : [])), ...(usage ? [quotaResponse(usage)] : []));
  return { text: 'GETQUOTAROOT completed' };
}

export async function setQuota(_command: CommandOf<'SETQUOTA'>): Promise<Completion> {
  throw no('Quotas are set by the administrator', 'NOPERM');
}
