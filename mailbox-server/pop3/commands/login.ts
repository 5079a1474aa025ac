// The login both USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034) end in: throttle, password
// check, maildrop lock, maildrop snapshot. Unknown user and wrong password answer alike.
import { Maildrop } from '../maildrop.ts';
import type { Pop3Context } from '../context.ts';
import { ok, Pop3Error } from '../wire/responses.ts';

/** RFC 3206 §4 AUTH: the credentials were wrong (never which half). */
export const authFailed = () => new Pop3Error('Authentication failed', 'AUTH');
/** RFC 2595 §2.3 / RFC 3206: cleartext credentials refused on this connection. */
export const plaintextRefused = () => new Pop3Error('Plaintext authentication disallowed on non-TLS connections, use STLS', 'AUTH');

export async function login(ctx: Pop3Context, user: string, password: string): Promise<void> {
  const { directory, throttle, locks, store, log } = ctx.services;
  const ip = ctx.connection.remoteAddress;
  // An IP locked out by core/auth-throttle.ts (on any protocol) gets the answer of a wrong
  // password, unchecked, as IMAP LOGIN and SMTP AUTH do.
  const refused = throttle.verdict(ip, user).refuse;
  // The delay comes before the check, whether or not the account exists (no enumeration by timing).
  if (!refused) await throttle.wait(ip, user);
  const account = !refused && user && password ? await directory.verifyPassword(user, password) : null;
  if (!account) {
    if (!refused) throttle.recordFailure(ip, user);
    log.info(refused ? 'pop3.login-refused' : 'pop3.login-failed', { ip });
    await ctx.reply(authFailed().response);
    await ctx.loginFailed();
    return;
  }
  throttle.recordSuccess(ip, user);
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
