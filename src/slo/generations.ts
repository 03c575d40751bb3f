/** Reading generations and their backfill positions. */
import type { Database, Db } from '../store/schema.js';
import { readVersion } from './meta.js';
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
  return generationOf(r, JSON.parse(r.plan_json) as ResolvedSlo);
}

function generationOf(r: Omit<Row, 'fingerprint' | 'plan_json' | 'retired_at'>, slo: ResolvedSlo): Generation {
  return {
    uid: r.uid,
    tenant: r.tenant_id,
    name: r.slo_name,
    status: r.status as Generation['status'],
    current: Number(r.current) === 1,
    slo,
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

/**
 * Current generations still backfilling: the backfill loop asks every 2 s, and reading (and parsing)
 * every current generation to keep the few backfilling ones cost the leader about 0.1 s of CPU per
 * ask at 10,000 SLOs.
 */
export async function backfillingGenerations(db: Db): Promise<Generation[]> {
  const rows = await db.selectFrom('slo_generations').selectAll().where('current', '=', 1).where('status', '=', 'backfilling').orderBy('tenant_id').orderBy('slo_name').execute();
  return rows.map(toGeneration);
}

/** Plans read by one statement (their uids are its parameters). */
const PLANS_PER_STATEMENT = 500;

/**
 * Current generations with their parsed plans kept between calls (the evaluator's, once per tick):
 * reading and parsing every plan again each tick was the largest part of the evaluator's own work
 * at 10,000 SLOs after its counter reads were grouped. A plan changes in place only in the same
 * transaction that bumps the configuration version (`syncTenant`), and a new generation has a new
 * uid, so the plans are dropped whenever the version read at the start of a call differs from the
 * one read at the start of the call that cached them; every other column is read each time.
 */
export class GenerationCache {
  private version: number | undefined;
  private readonly plans = new Map<string, ResolvedSlo>();

  async current(db: Db, tenant?: string): Promise<Generation[]> {
    const version = await readVersion(db);
    if (version !== this.version) this.plans.clear();
    this.version = version;
    let q = db
      .selectFrom('slo_generations')
      .select(['uid', 'tenant_id', 'slo_name', 'status', 'current', 'created_at', 'backfill_started_at', 'backfill_finished_at', 'backfill_events'])
      .where('current', '=', 1);
    if (tenant !== undefined) q = q.where('tenant_id', '=', tenant);
    const rows = await q.orderBy('tenant_id').orderBy('slo_name').execute();
    const plans = new Map<string, ResolvedSlo>();
    for (const r of rows) {
      const cached = this.plans.get(r.uid);
      if (cached) plans.set(r.uid, cached);
    }
    const missing = rows.filter((r) => !plans.has(r.uid)).map((r) => r.uid);
    for (let i = 0; i < missing.length; i += PLANS_PER_STATEMENT) {
      for (const p of await db
        .selectFrom('slo_generations')
        .select(['uid', 'plan_json'])
        .where('uid', 'in', missing.slice(i, i + PLANS_PER_STATEMENT))
        .execute()) {
        plans.set(p.uid, JSON.parse(p.plan_json) as ResolvedSlo);
      }
    }
    // Kept only while no concurrent call has seen a newer version since this one read its own:
    // a plan read before a change must not outlive the clearing that change caused.
    if (this.version === version) {
      for (const [uid, slo] of plans) this.plans.set(uid, slo);
      if (tenant === undefined) for (const uid of this.plans.keys()) if (!plans.has(uid)) this.plans.delete(uid);
    }
    // A generation retired and pruned between the two reads has no plan: it is left out, as a read a moment later would.
    return rows.filter((r) => plans.has(r.uid)).map((r) => generationOf(r, plans.get(r.uid)!));
  }
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
