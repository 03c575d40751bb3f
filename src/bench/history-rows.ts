/**
 * The rows of `keel bench history`'s year of paging history, for one team, as plain tables: the
 * SQLite (embedded) and PostgreSQL (distributed) loaders insert the same rows into the owning
 * tables, so both stores are measured on the same history.
 */

export type HistoryValue = string | number | null;

export interface HistoryTable {
  name: string;
  columns: string[];
  rows: HistoryValue[][];
  /** `ON CONFLICT (<key>) DO UPDATE` every other column (a row the team's creation already wrote). */
  upsertKey?: string;
}

export const DAY = 86_400_000;
export const SERVICES = 20;
/** The newest incidents of a history are still open (triggered), the newest alerts still firing. */
export const OPEN_INCIDENTS = 20;
export const FIRING_ALERTS = 50;

/**
 * Incidents spread evenly over the 365 days before `now` on 20 services, acknowledged 1-15 minutes
 * and resolved 20-200 minutes after opening (the newest 20 still open), each with one page to one
 * of 10 people; alerts spread over the same year, each routed to its incident (the newest 50 firing).
 */
export function historyTables(team: string, now: number, incidents: number, alerts: number): HistoryTable[] {
  const severities = ['critical', 'high', 'medium', 'low'];
  let seed = 42;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const span = 365 * DAY;
  // Ids carry the team so several histories share the tables (a small and a large one per run).
  const incidentId = (i: number) => `inc_${team}_${String(i).padStart(7, '0')}`;
  const incidentRows: HistoryValue[][] = [];
  const jobRows: HistoryValue[][] = [];
  for (let i = 0; i < incidents; i++) {
    const opened = now - span + Math.floor((i / incidents) * span);
    const open = i >= incidents - OPEN_INCIDENTS;
    const ack = open ? null : opened + 60_000 + Math.floor(rand() * 14 * 60_000);
    const resolved = open ? null : opened + 20 * 60_000 + Math.floor(rand() * 180 * 60_000);
    const service = `svc-${i % SERVICES}`;
    const state = open ? 'triggered' : i % 3 === 0 ? 'closed' : 'resolved';
    incidentRows.push([
      incidentId(i),
      team,
      i + 1,
      `${service} is failing`,
      '',
      service,
      severities[i % 4]!,
      state,
      `g${i}`,
      null,
      opened,
      ack,
      null,
      resolved,
      state === 'closed' ? resolved : null,
      'bench',
    ]);
    jobRows.push([`job_${team}_${String(i).padStart(7, '0')}`, team, incidentId(i), `usr_bench${i % 10}`, 'bench', 'webhook', '{}', '{}', 'sent', 1, opened, opened, opened, opened, 0, 0, 'page']);
  }
  const alertRows: HistoryValue[][] = [];
  const pagingRows: HistoryValue[][] = [];
  for (let a = 0; a < alerts; a++) {
    const seen = now - span + Math.floor((a / alerts) * span);
    const firing = a >= alerts - FIRING_ALERTS;
    const i = Math.min(incidents - 1, Math.floor((a / alerts) * incidents));
    const service = `svc-${i % SERVICES}`;
    const id = `alt_${team}_${String(a).padStart(8, '0')}`;
    const labels = JSON.stringify({ service, check: String(a % 7) });
    alertRows.push([
      id,
      team,
      `dedup-${a}`,
      'events-v2',
      service,
      firing ? 'firing' : 'resolved',
      severities[a % 4]!,
      `${service} check ${a % 7} failed`,
      labels,
      '{}',
      '[]',
      seen,
      seen,
      1,
      firing ? null : seen + 600_000,
      null,
    ]);
    pagingRows.push([id, team, service, 'default', incidentId(i), null, `g${i}`, seen]);
  }
  return [
    {
      name: 'incidents',
      columns: [
        'id',
        'tenant_id',
        'number',
        'title',
        'summary',
        'service',
        'severity',
        'state',
        'grouping_key',
        'escalation_policy',
        'opened_at',
        'acknowledged_at',
        'mitigated_at',
        'resolved_at',
        'closed_at',
        'created_by',
      ],
      rows: incidentRows,
    },
    {
      name: 'notification_jobs',
      columns: [
        'id',
        'tenant_id',
        'incident_id',
        'user_id',
        'target_name',
        'channel',
        'target_json',
        'message_json',
        'status',
        'attempts',
        'next_attempt_at',
        'created_at',
        'updated_at',
        'sent_at',
        'pass',
        'step',
        'kind',
      ],
      rows: jobRows,
    },
    { name: 'incident_counters', columns: ['tenant_id', 'last'], rows: [[team, incidents]], upsertKey: 'tenant_id' },
    {
      name: 'alerts',
      columns: [
        'id',
        'tenant_id',
        'dedup_key',
        'source',
        'service',
        'status',
        'severity',
        'summary',
        'labels_json',
        'details_json',
        'links_json',
        'first_seen',
        'last_seen',
        'count',
        'resolved_at',
        'acknowledged_at',
      ],
      rows: alertRows,
    },
    { name: 'paging_alerts', columns: ['alert_id', 'tenant_id', 'service', 'route', 'incident_id', 'suppressed_by', 'grouping_key', 'processed_at'], rows: pagingRows },
  ];
}

/** `INSERT INTO t (cols) VALUES <values>` plus the upsert clause: the statement both loaders run. */
export function insertSql(t: HistoryTable, values: string): string {
  const upsert = t.upsertKey
    ? ` ON CONFLICT (${t.upsertKey}) DO UPDATE SET ${t.columns
        .filter((c) => c !== t.upsertKey)
        .map((c) => `${c} = excluded.${c}`)
        .join(', ')}`
    : '';
  return `INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES ${values}${upsert}`;
}
