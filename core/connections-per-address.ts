// Concurrent connections per client address, so one host cannot take all of a listener's
// connections (or, before login, all of its memory). The SMTP edge counts every session; the
// mailbox server counts IMAP and POP3 connections together until they log in.

/** Connections one address may hold at once: SMTP sessions at the edge, unauthenticated IMAP+POP3 ones. */
export const DEFAULT_CONNECTIONS_PER_ADDRESS = 20;

/** A counted connection: release it once, when it ends (or stops being counted, e.g. after login). */
export interface ConnectionSlot {
  /** Idempotent. */
  release(): void;
}

export class ConnectionsPerAddress {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A slot for one more connection from `address`, or null if it already holds `max`. */
  admit(address: string): ConnectionSlot | null {
    const n = this.counts.get(address) ?? 0;
    if (n >= this.max) return null;
    this.counts.set(address, n + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const left = (this.counts.get(address) ?? 1) - 1;
        if (left > 0) this.counts.set(address, left);
        else this.counts.delete(address);
      },
    };
  }

  /** Connections counted for `address` now. */
  countOf(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}
