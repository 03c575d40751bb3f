/**
 * Tokens an instance leases from a shared counter (rate quota buckets, daily volume quotas) and
 * gives back when it stops using them, so other instances can have them. One implementation of the
 * giving back for both: what is given back and where is the caller's.
 */
export interface TokenLease {
  tokens: number;
  lastUsed: number;
}

/**
 * Gives back the tokens of every lease unused for `idleMs` that `current` accepts; a failed give-back
 * keeps the tokens on the lease (they are given back later, or used).
 */
export async function returnIdleLeases<L extends TokenLease>(
  leases: Map<string, L>,
  now: number,
  idleMs: number,
  current: (lease: L) => boolean,
  giveBack: (id: string, lease: L, tokens: number) => Promise<void>,
): Promise<void> {
  for (const [id, lease] of leases) {
    if (lease.tokens <= 0 || now - lease.lastUsed < idleMs || !current(lease)) continue;
    const tokens = lease.tokens;
    lease.tokens = 0;
    try {
      await giveBack(id, lease, tokens);
    } catch {
      lease.tokens += tokens;
    }
  }
}

/** Gives back every unused token (on shutdown); a failure is dropped, the lease's tokens are gone. */
export async function returnAllLeases<L extends TokenLease>(leases: Map<string, L>, current: (lease: L) => boolean, giveBack: (id: string, lease: L, tokens: number) => Promise<void>): Promise<void> {
  for (const [id, lease] of leases) {
    if (lease.tokens > 0 && current(lease)) await giveBack(id, lease, lease.tokens).catch(() => undefined);
    lease.tokens = 0;
  }
}
