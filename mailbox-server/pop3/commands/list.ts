// RFC 1939 §5 LIST [msg]: "number size" per message not marked deleted; sizes are the exact
// octets of the stored (CRLF) blob, before dot-stuffing.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { replyScanListing } from './scan-listing.ts';

export function list(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  return replyScanListing(ctx, state, args, (m) => m.size, () => {
    const { count, octets } = state.maildrop.stat();
    return `${count} messages (${octets} octets)`;
  });
}
