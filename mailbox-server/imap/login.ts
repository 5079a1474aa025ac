// The one path from credentials to an authenticated state, shared by LOGIN and AUTHENTICATE:
// refuses cleartext from remote clients and locked-out IPs, waits the throttle delay before checking
// (so timing tells nothing about the account), and gives the same answer for every kind of failure.
import type { CommandContext, Completion } from './context.ts';
import { no } from './errors.ts';

export async function logInUser(ctx: CommandContext, username: string, password: string): Promise<Completion> {
  // RFC 3501 §6.2.3 / RFC 2595 §3.2: no plaintext passwords on an unprotected remote connection.
  if (!ctx.cleartextAuthAllowed) throw no('Log in over TLS (STARTTLS or port 993)', 'PRIVACYREQUIRED');
  const { throttle, directory, log } = ctx.services;
  // An IP locked out by core/auth-throttle.ts gets the same answer as a wrong password, unchecked.
  const verdict = throttle.verdict(ctx.remoteAddress, username);
  if (verdict.refuse) {
    log.info('login-refused', { remote: ctx.remoteAddress });
    throw no('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  await throttle.wait(ctx.remoteAddress, username);
  const account = username.length > 0 && username.length <= 320 ? await directory.verifyPassword(username, password) : null;
  if (!account) {
    throttle.recordFailure(ctx.remoteAddress, username);
    log.info('login-failed', { remote: ctx.remoteAddress });
    // RFC 5530 AUTHENTICATIONFAILED: one answer whether the user exists or not (no enumeration).
    throw no('Authentication failed', 'AUTHENTICATIONFAILED');
  }
  throttle.recordSuccess(ctx.remoteAddress, username);
  ctx.setState({ kind: 'authenticated', account: account.address });
  return { text: 'Logged in', code: `CAPABILITY ${ctx.capabilities().join(' ')}` };
}
