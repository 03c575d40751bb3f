/**
 * Keeps `slo_generations` in step with the SLO definitions, inside the apply transaction: a new SLO
 * gets a generation to backfill; a change of what is counted retires the generation and starts a
 * new one; other changes (targets, names, alert policies that keep the same windows) update the
 * generation's plan in place; a deleted SLO's generation is retired (and pruned later).
 */
import type { Transaction } from 'kysely';
import { newId } from '../core/ids.js';
import type { Database } from '../store/schema.js';
import { bumpVersion } from './meta.js';
import type { StoredSlo } from './openslo.js';
import { countingFingerprint, resolveSlo } from './resolve.js';

export const SLO_KINDS = ['SLO', 'SLI', 'AlertPolicy', 'AlertCondition', 'AlertNotificationTarget', 'Service'];

export async function syncTenant(trx: Transaction<Database>, tenant: string, now: number): Promise<void> {
  const defs = await trx.selectFrom('definitions').select(['kind', 'name', 'spec_json']).where('tenant_id', '=', tenant).where('kind', 'in', SLO_KINDS).execute();
  const byKey = new Map(defs.map((d) => [`${d.kind}/${d.name}`, JSON.parse(d.spec_json) as unknown]));
  const lookup = { get: (kind: string, name: string) => byKey.get(`${kind}/${name}`) };
  const gens = await trx.selectFrom('slo_generations').selectAll().where('tenant_id', '=', tenant).where('current', '=', 1).execute();
  const genByName = new Map(gens.map((g) => [g.slo_name, g]));
  let changed = false;
  const seen = new Set<string>();
  for (const d of defs) {
    if (d.kind !== 'SLO') continue;
    seen.add(d.name);
    const { slo } = resolveSlo(byKey.get(`SLO/${d.name}`) as StoredSlo, lookup);
    // Validation already refused unresolvable SLOs; an intermediate state inside one apply (an SLI
    // updated before the SLO that follows it) may not resolve yet, and the next call will.
    if (!slo) continue;
    const fingerprint = countingFingerprint(slo);
    const plan = JSON.stringify(slo);
    const current = genByName.get(d.name);
    if (current && current.fingerprint === fingerprint) {
      if (current.plan_json !== plan) {
        await trx.updateTable('slo_generations').set({ plan_json: plan }).where('uid', '=', current.uid).execute();
        changed = true;
      }
      continue;
    }
    if (current) await retire(trx, current.uid, current.backfill_started_at, now);
    await newGeneration(trx, tenant, d.name, fingerprint, plan, now);
    changed = true;
  }
  for (const g of gens) {
    if (!seen.has(g.slo_name)) {
      await retire(trx, g.uid, g.backfill_started_at, now);
      changed = true;
    }
  }
  if (changed) await bumpVersion(trx);
}

async function newGeneration(trx: Transaction<Database>, tenant: string, name: string, fingerprint: string, plan: string, now: number): Promise<string> {
  const uid = newId('slog');
  await trx
    .insertInto('slo_generations')
    .values({
      uid,
      tenant_id: tenant,
      slo_name: name,
      fingerprint,
      plan_json: plan,
      status: 'backfilling',
      current: 1,
      created_at: now,
      backfill_started_at: null,
      backfill_finished_at: null,
      backfill_events: 0,
      retired_at: null,
    })
    .execute();
  return uid;
}

/**
 * Counts an SLO again from the event log (a runbook's `slo.backfill`, e.g. after late or corrected
 * events): its current generation is retired and a new one with the same plan is backfilled, the
 * same way a change of what is counted starts one. Within `trx`, so it happens exactly once with
 * whatever records it. Undefined when the tenant has no such SLO.
 */
export async function recountSlo(trx: Transaction<Database>, tenant: string, name: string, now: number): Promise<string | undefined> {
  const current = await trx.selectFrom('slo_generations').selectAll().where('tenant_id', '=', tenant).where('slo_name', '=', name).where('current', '=', 1).executeTakeFirst();
  if (!current) return undefined;
  await retire(trx, current.uid, current.backfill_started_at, now);
  const uid = await newGeneration(trx, tenant, name, current.fingerprint, current.plan_json, now);
  await bumpVersion(trx);
  return uid;
}

/** A generation nothing has counted yet (its backfill never claimed a position) is simply removed. */
async function retire(trx: Transaction<Database>, uid: string, backfillStartedAt: number | null, now: number): Promise<void> {
  if (backfillStartedAt === null) {
    await trx.deleteFrom('slo_generations').where('uid', '=', uid).execute();
    return;
  }
  await trx.updateTable('slo_generations').set({ current: 0, status: 'retired', retired_at: now }).where('uid', '=', uid).execute();
}
