// The login both USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034) end in: core/login.ts's
// verdict in POP3's words, then maildrop lock and snapshot. Unknown user and wrong password answer alike.
import { attemptLogin } from '../../../core/login.ts';
import { Maildrop } from '../maildrop.ts';
import type { Pop3Context } from '../context.ts';
import { ok, Pop3Error } from '../wire/responses.ts';

/** RFC 3206 §4 AUTH: the credentials were wrong (never which half). */
export const authFailed = () => new Pop3Error('Authentication failed', 'AUTH');
/** RFC 2595 §2.3 / RFC 3206: cleartext credentials refused on this connection. */
export const plaintextRefused = () => new Pop3Error('Plaintext authentication disallowed on non-TLS connections, use STLS', 'AUTH');

export async function login(ctx: Pop3Context, user: string, password: string, authorizationId = ''): Promise<void> {
  const { locks, store, log } = ctx.services;
  const ip = ctx.connection.remoteAddress;
  const verdict = await attemptLogin({ ip, username: user, password, authorizationId }, ctx.services);
  if (verdict.kind === 'unavailable') {
    log.error('pop3.login-lookup-failed', { ip, err: verdict.error });
    // RFC 3206 §4 SYS/TEMP: the credentials were not judged; trying again later may work.
    throw new Pop3Error('Temporary failure, try again later', 'SYS/TEMP');
  }
  if (verdict.kind !== 'accepted') {
    // A locked-out IP gets the answer of a wrong password, unchecked, as IMAP LOGIN does.
    log.info(verdict.kind === 'locked-out' ? 'pop3.login-refused' : 'pop3.login-failed', { ip });
    await ctx.reply(authFailed().response);
    await ctx.loginFailed();
    return;
  }
  const { account } = verdict;
  // RFC 1939 §8 / RFC 2449 §8.1.2 IN-USE: one session per maildrop, across all server processes.
  const lease = await locks.acquire(account.address);
  if (!lease) throw new Pop3Error('Maildrop is locked by another session', 'IN-USE');
  let maildrop: Maildrop;
  try {
    maildrop = await Maildrop.open(store, account.address);
  } catch (err) {
    await lease.release().catch(() => undefined);
    throw err;
  }
  ctx.enterTransaction(account.address, maildrop, lease);
  const { count, octets } = maildrop.stat();
  log.info('pop3.login', { ip, account: account.address, messages: count });
  await ctx.reply(ok(`Logged in, ${count} messages (${octets} octets)`));
}
