/**
 * Checking the audit chain, as a pure fold over entries in sequence order: each entry must have
 * the next sequence number, name the previous entry's hash, and hash to what it says. The first
 * entry that does not is named with the reason. Works on the database and on an export alike; an
 * export that starts mid-chain trusts its first entry's link backwards.
 */
import { GENESIS_HASH, hashEntry } from './audit-log.js';
import type { AuditLogTable } from './tables.js';

export interface ChainProblem {
  seq: number;
  kind: 'missing' | 'out_of_order' | 'altered' | 'anchor_mismatch';
  reason: string;
}

export interface ChainResult {
  ok: boolean;
  checked: number;
  first_seq: number | null;
  head: { seq: number; hash: string } | null;
  problem: ChainProblem | null;
}

export class ChainVerifier {
  private expectedSeq: number | undefined;
  private prevHash: string | undefined;
  private first: number | null = null;
  private head: { seq: number; hash: string } | null = null;
  private checked = 0;
  private problem: ChainProblem | null = null;

  /** `fromStart`: the entries must begin at seq 1 (the whole log); otherwise the first one is trusted. */
  constructor(private readonly fromStart: boolean) {
    if (fromStart) {
      this.expectedSeq = 1;
      this.prevHash = GENESIS_HASH;
    }
  }

  /** Feeds the next entry; returns false once a problem was found (stop feeding). */
  push(e: AuditLogTable): boolean {
    if (this.problem) return false;
    const seq = Number(e.seq);
    this.first ??= seq;
    if (this.expectedSeq !== undefined && seq !== this.expectedSeq) {
      this.problem =
        seq > this.expectedSeq
          ? { seq: this.expectedSeq, kind: 'missing', reason: `entry ${this.expectedSeq}${seq - this.expectedSeq > 1 ? `-${seq - 1}` : ''} is missing (deleted); the chain continues at ${seq}` }
          : { seq, kind: 'out_of_order', reason: `entry ${seq} appears after entry ${this.expectedSeq - 1}` };
      return false;
    }
    if (this.prevHash !== undefined && e.prev_hash !== this.prevHash) {
      this.problem = {
        seq,
        kind: 'out_of_order',
        reason: `entry ${seq} does not follow entry ${seq - 1}: its prev_hash is not that entry's hash (entries were reordered, replaced or removed)`,
      };
      return false;
    }
    const { hash: _stored, ...unhashed } = e;
    const computed = hashEntry({ ...unhashed, seq, at: Number(e.at), ok: Number(e.ok) });
    if (computed !== e.hash) {
      this.problem = { seq, kind: 'altered', reason: `entry ${seq} was changed after it was written: its content does not match its hash` };
      return false;
    }
    this.expectedSeq = seq + 1;
    this.prevHash = e.hash;
    this.head = { seq, hash: e.hash };
    this.checked++;
    return true;
  }

  /** Checks a head remembered earlier (from a report or an export) is still there, unchanged: catches a truncated tail. */
  anchor(anchor: { seq: number; hash: string }, hashAt: string | undefined): void {
    if (this.problem) return;
    if (hashAt === undefined) {
      this.problem = { seq: anchor.seq, kind: 'anchor_mismatch', reason: `entry ${anchor.seq} (a remembered head) is no longer in the log: entries at the end were removed` };
    } else if (hashAt !== anchor.hash) {
      this.problem = { seq: anchor.seq, kind: 'anchor_mismatch', reason: `entry ${anchor.seq} does not have the remembered hash: the chain was rewritten` };
    }
  }

  result(): ChainResult {
    return { ok: this.problem === null, checked: this.checked, first_seq: this.first, head: this.head, problem: this.problem };
  }
}
