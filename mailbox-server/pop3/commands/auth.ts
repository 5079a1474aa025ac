// RFC 5034 AUTH with the PLAIN mechanism (RFC 4616): initial response or one continuation,
// "*" cancels (§4), "=" is an empty initial response. Bare AUTH lists the mechanisms, which
// Outlook and others send before choosing (the RFC 1734 habit).
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { multiLine, Pop3Error } from '../wire/responses.ts';
import { expectArgs, Pop3SyntaxError } from './arguments.ts';
import { login, plaintextRefused } from './login.ts';

const MECHANISMS = ['PLAIN'];

/** RFC 4648 §4 base64, padded, nothing else (RFC 5034 §4: invalid base64 is rejected). */
function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

export async function auth(ctx: Pop3Context, _state: StateOf<'authorization'>, args: readonly string[]): Promise<void> {
  if (args.length === 0) {
    await ctx.reply(multiLine('Mechanisms follow', ctx.connection.plaintextLoginAllowed ? MECHANISMS : []));
    return;
  }
  expectArgs(args, 1, 2);
  if (args[0]!.toUpperCase() !== 'PLAIN') throw new Pop3Error('Unsupported authentication mechanism');
  if (!ctx.connection.plaintextLoginAllowed) throw plaintextRefused();

  let response = args[1];
  if (response === undefined) {
    const line = await ctx.saslExchange('');
    if (line === null) return;
    response = line;
  }
  if (response === '*') throw new Pop3Error('Authentication cancelled');
  const decoded = response === '=' ? Buffer.alloc(0) : decodeBase64(response);
  if (!decoded) throw new Pop3SyntaxError('Invalid base64 data');

  // RFC 4616 §2: [authzid] NUL authcid NUL passwd; we act as nobody but the authenticated user
  // (core/login.ts refuses an authzid naming another account).
  const fields = decoded.toString('utf8').split('\0');
  // A malformed response is a failed login (counted like one), not a syntax error.
  const [authzid = '', authcid = '', password = ''] = fields.length === 3 ? fields : [];
  await login(ctx, authcid, password, authzid);
}
