// RFC 2449 §5 CAPA: the capabilities of this session. USER and SASL are listed only where a
// login may happen (TLS or trusted loopback), as IMAP's LOGINDISABLED does (RFC 2595 §3.2), so
// clients see STLS as the way forward. APOP is never offered.
import type { Pop3Context } from '../context.ts';
import type { Pop3State } from '../state.ts';
import { multiLine } from '../wire/responses.ts';
import { expectArgs } from './arguments.ts';

export function capabilities(ctx: Pop3Context): string[] {
  const { connection } = ctx;
  return [
    'CAPA',
    'TOP',
    'UIDL',
    'RESP-CODES',
    'AUTH-RESP-CODE',
    'PIPELINING',
    ...(connection.plaintextLoginAllowed ? ['USER', 'SASL PLAIN'] : []),
    ...(connection.canStartTls ? ['STLS'] : []),
    `IMPLEMENTATION ${ctx.services.implementation}`,
  ];
}

export async function capa(ctx: Pop3Context, _state: Pop3State, args: readonly string[]): Promise<void> {
  expectArgs(args, 0, 0);
  await ctx.reply(multiLine('Capability list follows', capabilities(ctx)));
}
