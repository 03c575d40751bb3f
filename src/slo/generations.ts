/** Reading generations and their backfill positions. */
import type { Database, Db } from '../store/schema.js';
import type { ResolvedSlo } from './model.js';

export interface Generation {
  uid: string;
  tenant: string;
  name: string;
  status: 'backfilling' | 'ready' | 'retired';
  current: boolean;
  slo: ResolvedSlo;
  createdAt: number;
  backfillStartedAt: number | null;
  backfillFinishedAt: number | null;
  backfillEvents: number;
}

type Row = Database['slo_generations'];

export function toGeneration(r: Row): Generation {
  return {
    uid: r.uid,
    tenant: r.tenant_id,
    name: r.slo_name,
    status: r.status as Generation['status'],
    current: Number(r.current) === 1,
    slo: JSON.parse(r.plan_json) as ResolvedSlo,
    createdAt: Number(r.created_at),
    backfillStartedAt: r.backfill_started_at === null ? null : Number(r.backfill_started_at),
    backfillFinishedAt: r.backfill_finished_at === null ? null : Number(r.backfill_finished_at),
    backfillEvents: Number(r.backfill_events),
  };
}

/** Current generations (backfilling or ready), optionally of one tenant. */
export async function currentGenerations(db: Db, tenant?: string): Promise<Generation[]> {
  let q = db.selectFrom('slo_generations').selectAll().where('current', '=', 1);
  if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
  return (await q.orderBy('tenant_id').orderBy('slo_name').execute()).map(toGeneration);
}

export async function currentGeneration(db: Db, tenant: string, name: string): Promise<Generation | undefined> {
  const r = await db.selectFrom('slo_generations').selectAll().where('tenant_id', '=', tenant).where('slo_name', '=', name).where('current', '=', 1).executeTakeFirst();
  return r && toGeneration(r);
}

export interface BackfillPartition {
  partition: number;
  liveFrom: number;
  origin: number;
  cursor: number;
  done: boolean;
}

/** Backfill positions per generation uid. */
export async function backfillPartitions(db: Db, uids?: string[]): Promise<Map<string, BackfillPartition[]>> {
  const out = new Map<string, BackfillPartition[]>();
  if (uids && uids.length === 0) return out;
  let q = db.selectFrom('slo_backfill_partitions').selectAll();
  if (uids) q = q.where('gen_uid', 'in', uids);
  for (const r of await q.execute()) {
    const list = out.get(r.gen_uid) ?? [];
    list.push({ partition: Number(r.partition), liveFrom: Number(r.live_from), origin: Number(r.origin), cursor: Number(r.cursor), done: Number(r.done) === 1 });
    out.set(r.gen_uid, list);
  }
  return out;
}
