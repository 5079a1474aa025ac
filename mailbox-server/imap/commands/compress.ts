// RFC 4978 §3 COMPRESS: DEFLATE both ways from right after the tagged OK. Valid only after login
// (see ../state.ts), so STARTTLS, when used, is always below it; a second COMPRESS is refused.
import type { CommandContext, CommandOf, Completion } from '../context.ts';
import { bad, no } from '../errors.ts';

export async function compress(command: CommandOf<'COMPRESS'>, ctx: CommandContext): Promise<Completion> {
  if (command.mechanism !== 'DEFLATE') throw bad(`Unknown compression mechanism ${command.mechanism.slice(0, 40)}`);
  // RFC 4978 §3: "NO ... compression is already active" with the COMPRESSIONACTIVE code. TLS-level
  // compression is never on (Node's OpenSSL is built without it), so that case cannot arise.
  if (ctx.compressionActive) throw no('DEFLATE active already', 'COMPRESSIONACTIVE');
  const startDeflating = ctx.startCompression();
  return { text: 'DEFLATE active', after: async () => startDeflating() };
}
