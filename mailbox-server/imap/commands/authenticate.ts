// RFC 3501 §6.2.2 AUTHENTICATE with SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login),
// initial response per RFC 4959 SASL-IR; "*" cancels (BAD).
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad, no } from '../errors.ts';
import { logInUser } from '../login.ts';
import { continuation } from '../wire/writer.ts';

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

async function ask(ctx: CommandContext, challenge: string): Promise<Buffer> {
  await ctx.send(continuation(challenge));
  const line = await ctx.readClientLine();
  if (line === null) throw bad('Connection closed');
  const text = line.toString('latin1').trim();
  if (text === '*') throw bad('Authentication cancelled');
  if (!base64.test(text)) throw bad('Invalid base64');
  return Buffer.from(text, 'base64');
}

const decodeInitial = (initial: string) => (initial === '=' ? Buffer.alloc(0) : Buffer.from(initial, 'base64'));

export async function authenticate(command: CommandOf<'AUTHENTICATE'>, ctx: CommandContext): Promise<Completion> {
  if (!ctx.cleartextAuthAllowed) throw no('Authenticate over TLS (STARTTLS or port 993)', 'PRIVACYREQUIRED');
  switch (command.mechanism) {
    case 'PLAIN': {
      const response = command.initialResponse !== null ? decodeInitial(command.initialResponse) : await ask(ctx, '');
      // message = [authzid] UTF8NUL authcid UTF8NUL passwd
      const fields = response.toString('utf8').split('\0');
      if (fields.length !== 3) throw bad('Invalid PLAIN response');
      const [authzid, authcid, password] = fields as [string, string, string];
      // Acting as another user is not offered: core/login.ts refuses an authzid naming another account.
      return logInUser(ctx, authcid, password, authzid);
    }
    case 'LOGIN': {
      const username = command.initialResponse !== null ? decodeInitial(command.initialResponse) : await ask(ctx, 'VXNlcm5hbWU6');
      const password = await ask(ctx, 'UGFzc3dvcmQ6');
      return logInUser(ctx, username.toString('utf8'), password.toString('utf8'));
    }
    default:
      throw no('Unsupported authentication mechanism', 'CANNOT');
  }
}
