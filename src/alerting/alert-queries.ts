/** Reads of the alerts table for other domains (incidents show the alerts grouped into them). */
import { sql } from 'kysely';
import { prepared } from '../store/prepared.js';
import type { Db } from '../store/schema.js';
import type { AlertsTable } from './tables.js';

/**
 * `status = 'firing'` as a literal, the WHERE of the partial unique index alerts_open_dedup: SQLite
 * uses a partial index only for a term that matches it as written, not for a bound parameter. With
 * a parameter it found the open alert by (tenant, status) instead, reading every firing alert of
 * the team for each signal: quadratic in a storm (31 µs per signal at 3,000 firing alerts).
 */
export const IS_FIRING = sql<boolean>`status = 'firing'`;

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
      .where(IS_FIRING)
      .execute();
    for (const r of rows) out.add(r.dedup_key);
  }
  return out;
}

/** Exported for the test of its query plan. */
export const firingOfSource = prepared((db, p: { source: string }) => db.selectFrom('alerts').select(['tenant_id', 'dedup_key']).where(IS_FIRING).where('source', '=', p.source));

/**
 * The firing alerts one source raised, every tenant's (a source resolving what it no longer
 * watches). Read through alerts_open_dedup, which holds the firing alerts only: with the status
 * bound as a parameter SQLite read the whole alert history instead, on every capacity pass.
 */
export async function firingAlertsOf(db: Db, source: string): Promise<{ tenant: string; dedupKey: string }[]> {
  const rows = await firingOfSource.rows(db, { source });
  return rows.map((r) => ({ tenant: r.tenant_id, dedupKey: r.dedup_key }));
}

// Read once per alert a storm routes (paging) and after each change of an alert: compiled once.
const alertRowById = prepared((db, p: { id: string }) => db.selectFrom('alerts').selectAll().where('id', '=', p.id));

/** The stored row of one alert, if it exists. */
export function alertRow(db: Db, id: string): Promise<AlertsTable | undefined> {
  return alertRowById.first(db, { id });
}
