/** Reads of the alerts table for other domains (incidents show the alerts grouped into them). */
import { prepared } from '../store/prepared.js';
import type { Db } from '../store/schema.js';
import type { AlertsTable } from './tables.js';

export interface AlertSummary {
  id: string;
  summary: string;
  severity: string;
  source: string;
  status: string;
  count: number;
  dedupKey: string;
  firstSeen: number;
  lastSeen: number;
}

/** The alerts with these ids, oldest first. */
export async function alertsByIds(db: Db, ids: string[]): Promise<AlertSummary[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('alerts')
    .select(['id', 'summary', 'severity', 'source', 'status', 'count', 'first_seen', 'last_seen', 'dedup_key'])
    .where('id', 'in', ids)
    .orderBy('first_seen')
    .execute();
  return rows.map((a) => ({
    id: a.id,
    summary: a.summary,
    severity: a.severity,
    source: a.source,
    status: a.status,
    count: Number(a.count),
    dedupKey: a.dedup_key,
    firstSeen: Number(a.first_seen),
    lastSeen: Number(a.last_seen),
  }));
}

/** The number of the last transition appended to the outbox (0 when none): how far its consumers have to read. */
export async function lastTransitionSeq(db: Db): Promise<number> {
  const last = await db
    .selectFrom('alert_transitions')
    .select((eb) => eb.fn.max('seq').as('s'))
    .executeTakeFirst();
  return Number(last?.s ?? 0);
}

/** Dedup keys read by one statement (far below both stores' parameter limits). */
const KEYS_PER_STATEMENT = 500;

/**
 * Which of these dedup keys of a tenant have a firing alert: one query per 500 keys, so the SLO
 * evaluator asks for a group of SLOs at once instead of one round trip per firing alert.
 */
export async function firingDedupKeys(db: Db, tenant: string, keys: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    const rows = await db
      .selectFrom('alerts')
      .select('dedup_key')
      .where('tenant_id', '=', tenant)
      .where('dedup_key', 'in', keys.slice(i, i + KEYS_PER_STATEMENT))
      .where('status', '=', 'firing')
      .execute();
    for (const r of rows) out.add(r.dedup_key);
  }
  return out;
}

/** The firing alerts one source raised, every tenant's (a source resolving what it no longer watches). */
export async function firingAlertsOf(db: Db, source: string): Promise<{ tenant: string; dedupKey: string }[]> {
  const rows = await db.selectFrom('alerts').select(['tenant_id', 'dedup_key']).where('status', '=', 'firing').where('source', '=', source).execute();
  return rows.map((r) => ({ tenant: r.tenant_id, dedupKey: r.dedup_key }));
}

// Read once per alert a storm routes (paging) and after each change of an alert: compiled once.
const alertRowById = prepared((db, p: { id: string }) => db.selectFrom('alerts').selectAll().where('id', '=', p.id));

/** The stored row of one alert, if it exists. */
export function alertRow(db: Db, id: string): Promise<AlertsTable | undefined> {
  return alertRowById.first(db, { id });
}
