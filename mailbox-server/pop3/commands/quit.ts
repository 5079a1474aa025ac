// RFC 1939 §6 QUIT: from AUTHORIZATION just closes; from TRANSACTION enters UPDATE, expunges
// the messages marked deleted, releases the maildrop lock, then closes. A connection that drops
// without QUIT never gets here, so nothing is deleted (RFC 1939 §6, last paragraph).
import type { Pop3Context } from '../context.ts';
import type { Pop3State } from '../state.ts';
import { err, ok } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export async function quit(ctx: Pop3Context, state: Pop3State, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  if (state.kind !== 'transaction') {
    await ctx.close(ok('Bye'));
    return;
  }
  ctx.setState({ kind: 'update' });
  const { maildrop, lease, account } = state;
  const uids = maildrop.deletedUids();
  let response: Buffer;
  try {
    if (uids.length > 0) await ctx.services.store.expunge(account, maildrop.mailboxId, uids);
    const left = maildrop.live().length;
    response = ok(`Bye (${left === 0 ? 'maildrop empty' : `${left} messages left`})`);
  } catch (error) {
    ctx.services.log.error('pop3.expunge-failed', { account, err: error });
    // RFC 1939 §6: "-ERR some deleted messages not removed"; RFC 3206 SYS/TEMP: retrying may work.
    response = err('Some deleted messages not removed', 'SYS/TEMP');
  }
  await lease.release().catch((error: unknown) => ctx.services.log.warn('pop3.unlock-failed', { account, err: error }));
  await ctx.close(response);
}
