// RFC 1939 §7 UIDL [msg]: unique-ids that survive sessions; UIDVALIDITY.UID from the store,
// printable ASCII and far below the 70-character limit.
import type { Pop3Context } from '../context.ts';
import type { StateOf } from '../state.ts';
import { replyScanListing } from './scan-listing.ts';

export function uidl(ctx: Pop3Context, state: StateOf<'transaction'>, args: readonly string[]): Promise<void> {
  return replyScanListing(ctx, state, args, (m) => m.uniqueId, () => 'Unique-id listing follows');
}
