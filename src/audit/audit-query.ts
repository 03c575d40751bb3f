/** Reading the audit log: filtered pages for auditors, and the whole-chain check. */
import type { Store } from '../store/store.js';
import type { AuditLogTable } from './tables.js';
import { ChainVerifier, type ChainResult } from './verify-chain.js';

export interface AuditFilter {
  /** Only this tenant's entries (undefined: every tenant). */
  tenant?: string;
  since?: number;
  until?: number;
  actor?: string;
  action?: string;
  target?: string;
  /** Entries after this sequence number. */
  after?: number;
  limit: number;
}

export function entryView(e: AuditLogTable) {
  return {
    seq: Number(e.seq),
    at: new Date(Number(e.at)).toISOString(),
    at_ms: Number(e.at),
    actor: e.actor,
    action: e.action,
    tenant: e.tenant_id,
    target: e.target,
    before: e.before_json === null ? null : (JSON.parse(e.before_json) as unknown),
    after: e.after_json === null ? null : (JSON.parse(e.after_json) as unknown),
    source_ip: e.source_ip,
    request_id: e.request_id,
    ok: Number(e.ok) === 1,
    prev_hash: e.prev_hash,
    hash: e.hash,
  };
}
export type AuditEntryView = ReturnType<typeof entryView>;

/** An exported entry back in its stored form (for verifying exports offline). */
export function entryFromView(v: AuditEntryView): AuditLogTable {
  return {
    seq: v.seq,
    at: v.at_ms,
    actor: v.actor,
    action: v.action,
    tenant_id: v.tenant,
    target: v.target,
    before_json: v.before === null ? null : JSON.stringify(v.before),
    after_json: v.after === null ? null : JSON.stringify(v.after),
    source_ip: v.source_ip,
    request_id: v.request_id,
    ok: v.ok ? 1 : 0,
    prev_hash: v.prev_hash,
    hash: v.hash,
  };
}

export class AuditQuery {
  constructor(private readonly store: Store) {}

  async page(f: AuditFilter): Promise<AuditLogTable[]> {
    let q = this.store.db.selectFrom('audit_log').selectAll().orderBy('seq').limit(f.limit);
    if (f.tenant !== undefined) q = q.where('tenant_id', '=', f.tenant);
    if (f.since !== undefined) q = q.where('at', '>=', f.since);
    if (f.until !== undefined) q = q.where('at', '<', f.until);
    if (f.actor) q = q.where('actor', '=', f.actor);
    if (f.action) q = q.where('action', '=', f.action);
    if (f.target) q = q.where('target', '=', f.target);
    if (f.after !== undefined) q = q.where('seq', '>', f.after);
    return q.execute();
  }

  async head(): Promise<{ seq: number; hash: string } | null> {
    const r = await this.store.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r ? { seq: Number(r.seq), hash: r.hash } : null;
  }

  /**
   * Walks the whole chain in pages; stops at the first bad entry. An aborted `signal` throws
   * between pages (a shutdown does not wait for a long chain to be walked to its end).
   */
  async verify(anchor?: { seq: number; hash: string }, signal?: AbortSignal): Promise<ChainResult> {
    const v = new ChainVerifier(true);
    let after = 0;
    for (;;) {
      signal?.throwIfAborted();
      const rows = await this.store.db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(2000).execute();
      if (rows.length === 0) break;
      let going = true;
      for (const r of rows) if (!(going = v.push(r))) break;
      if (!going) break;
      after = Number(rows[rows.length - 1]!.seq);
    }
    if (anchor) {
      const r = await this.store.db.selectFrom('audit_log').select('hash').where('seq', '=', anchor.seq).executeTakeFirst();
      v.anchor(anchor, r?.hash);
    }
    return v.result();
  }
}
