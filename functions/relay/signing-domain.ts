// Which of our DKIM keys may sign an outbound message. A signature is our domain taking
// responsibility for the message (RFC 6376 §1.1), and receivers judge the From: domain by it
// (DMARC, RFC 7489 §3.1.1), so only mail our own accounts submitted is signed, and only with
// their own domain's key: never for whatever domain the message's From: names.
import type { OutboundEvent } from '../../core/contracts.ts';
import { parseAddress } from '../../core/addresses.ts';

/**
 * The domain whose key signs `event`, or null to send it unsigned.
 * - Submitted by an account (the edge authenticated it, and refused a From: the account may not
 *   use): that account's domain. Also when the message goes out through an alias forward.
 * - Anything else came from outside (an alias forwarding internet mail) or is our own report:
 *   unsigned, even when its From: names one of our domains, since anyone can write that.
 *   Once inbound mail is checked for DMARC, a message whose From: domain is ours and that passed
 *   DMARC on arrival may be signed with that domain's key too; that needs the verdict carried
 *   from the inbound event to the outbound one, and this is the place to honour it.
 */
export function signingDomainFor(event: Pick<OutboundEvent, 'authenticatedUser'>): string | null {
  if (!event.authenticatedUser) return null;
  return parseAddress(event.authenticatedUser)?.domain ?? null;
}
