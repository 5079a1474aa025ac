// The one path from credentials to an authenticated state, shared by LOGIN and AUTHENTICATE:
// refuses cleartext from remote clients, then core/login.ts decides and this file says it in IMAP.
import { attemptLogin } from '../../core/login.ts';
import type { CommandContext, Completion } from './context.ts';
import { no } from './errors.ts';

export async function logInUser(ctx: CommandContext, username: string, password: string, authorizationId = ''): Promise<Completion> {
  // RFC 3501 §6.2.3 / RFC 2595 §3.2: no plaintext passwords on an unprotected remote connection.
  if (!ctx.cleartextAuthAllowed) throw no('Log in over TLS (STARTTLS or port 993)', 'PRIVACYREQUIRED');
  const { log } = ctx.services;
  const verdict = await attemptLogin({ ip: ctx.remoteAddress, username, password, authorizationId }, ctx.services);
  switch (verdict.kind) {
    case 'accepted':
      ctx.setState({ kind: 'authenticated', account: verdict.account.address });
      return { text: 'Logged in', code: `CAPABILITY ${ctx.capabilities().join(' ')}` };
    case 'locked-out':
      // A locked-out IP gets the answer of a wrong password, unchecked.
      log.info('imap.login-refused', { remote: ctx.remoteAddress });
      throw no('Authentication failed', 'AUTHENTICATIONFAILED');
    case 'rejected':
      log.info('imap.login-failed', { remote: ctx.remoteAddress, delayedMs: verdict.delayedMs });
      // RFC 5530 AUTHENTICATIONFAILED: one answer whether the user exists or not (no enumeration).
      throw no('Authentication failed', 'AUTHENTICATIONFAILED');
    case 'unavailable':
      log.error('imap.login-lookup-failed', { remote: ctx.remoteAddress, err: verdict.error });
      // RFC 5530 UNAVAILABLE: a temporary failure, the credentials were not judged.
      throw no('Authentication temporarily unavailable, try again later', 'UNAVAILABLE');
  }
}
