/**
 * The alert pipeline's entry: every source reports signals here. A signal for an open alert with
 * the same dedup key updates it (count, last seen); a firing signal with no open alert opens one;
 * a resolving signal resolves it. Opening and resolving append a transition to the outbox in the
 * same transaction, so paging (which reads the outbox from its committed position) never misses
 * one and never sees one twice, whatever crashes in between.
 *
 * `acknowledge` (paging, for PagerDuty Events v2 `acknowledge`) marks an open alert acknowledged
 * and appends an `acknowledged` transition: the alert stays open (status `firing`, so repeats
 * still dedup into it), and paging acknowledges its incident in outbox order, after the trigger.
 */
import { sql, type Transaction } from 'kysely';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import { timeOrderedId } from '../core/ids.js';
import type { Database, Db } from '../store/schema.js';
import { prepared, wholeRow } from '../store/prepared.js';
import { IS_FIRING, alertRow } from './alert-queries.js';
import type { Store } from '../store/store.js';
import type { AlertsTable } from './tables.js';

// The statements of every signal, compiled once (store/prepared.ts).
/** The open alert of a key: exported for the test of its query plan. */
export const openAlert = prepared((db, p: { tenant: string; dedupKey: string }) =>
  db.selectFrom('alerts').selectAll().where('tenant_id', '=', p.tenant).where('dedup_key', '=', p.dedupKey).where(IS_FIRING),
);
/** The newest alert of a key, open or not (a resolve of what is not open answers with it): exported for the test of its query plan. */
export const lastAlertOfKey = prepared((db, p: { tenant: string; dedupKey: string }) =>
  db.selectFrom('alerts').selectAll().where('tenant_id', '=', p.tenant).where('dedup_key', '=', p.dedupKey).orderBy('last_seen', 'desc').limit(1),
);
const insertAlert = prepared((db, p: AlertsTable) =>
  db.insertInto('alerts').values(
    wholeRow(p, {
      id: true,
      tenant_id: true,
      dedup_key: true,
      source: true,
      service: true,
      status: true,
      severity: true,
      summary: true,
      labels_json: true,
      details_json: true,
      links_json: true,
      first_seen: true,
      last_seen: true,
      count: true,
      resolved_at: true,
      acknowledged_at: true,
    }),
  ),
);
const insertTransition = prepared((db, p: { tenant: string; alertId: string; dedupKey: string; status: TransitionStatus; at: number; values: string }) =>
  db.insertInto('alert_transitions').values({ tenant_id: p.tenant, alert_id: p.alertId, dedup_key: p.dedupKey, status: p.status, at: p.at, values_json: p.values }).returning('seq'),
);

export type AlertStatus = 'firing' | 'resolved';

export interface AlertLink {
  href: string;
  text?: string;
}

export interface AlertSignal {
  tenant: string;
  dedupKey: string;
  /** `slo`, `alertmanager`, `events-v2`, `heartbeat`, `manual`. */
  source: string;
  status: AlertStatus;
  /** `page`, `ticket`, or a source's own scale (`critical`, `error`, `warning`, `info`). */
  severity: string;
  summary: string;
  labels?: Record<string, string>;
  details?: Record<string, unknown>;
  links?: AlertLink[];
  service?: string;
  /** When the source says it happened; defaults to now. */
  at?: number;
  /** What caused this signal (burn rates and windows, payload fields); kept with the transition. */
  values?: Record<string, unknown>;
}

export interface Alert {
  id: string;
  tenant: string;
  dedupKey: string;
  source: string;
  service: string | null;
  status: AlertStatus;
  severity: string;
  summary: string;
  labels: Record<string, string>;
  details: Record<string, unknown>;
  links: AlertLink[];
  firstSeen: number;
  lastSeen: number;
  count: number;
  resolvedAt: number | null;
  /** When the source acknowledged the alert (Events v2 `acknowledge`), if it did. */
  acknowledgedAt?: number | null;
}

/** Outbox transitions: opened (`firing`), `resolved`, or `acknowledged` by its source. */
export type TransitionStatus = AlertStatus | 'acknowledged';

export interface AlertTransition {
  seq: number;
  tenant: string;
  alertId: string;
  dedupKey: string;
  status: TransitionStatus;
  at: number;
  values: Record<string, unknown>;
}

declare module '../core/bus.js' {
  interface BusEvents {
    /** After commit; a hint for low latency. Durable consumers read the outbox instead. */
    'alert.transition': { transition: AlertTransition; alert: Alert };
  }
}

export interface SignalResult {
  alert: Alert;
  /** Set when the signal opened or resolved an alert. */
  transition?: AlertTransition;
}

/** The lock that keeps `alert_transitions` committing in the order of its numbers (Store.serializeCommits). */
const TRANSITIONS_LOCK = 'alert_transitions';

/** Signals recorded per transaction (SQLite). */
export const SIGNAL_BATCH = 100;

export class AlertService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: Bus,
  ) {}

  private readonly queued: { s: AlertSignal; resolve: (r: SignalResult) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  /**
   * Records a signal in its own transaction and publishes the transition, if any; resolves once
   * it is committed (durable).
   *
   * On SQLite (one connection: transactions run one after the other anyway) signals that arrive
   * together, e.g. a storm of Events v2 requests answered in the same turn of the event loop, are
   * recorded in ONE transaction, one after the other as they came: the same outcome as one
   * transaction each, with one commit (one fsync) for all of them. If the batch fails it rolls
   * back whole and each signal is recorded on its own, so one bad signal fails alone. PostgreSQL
   * runs concurrent transactions side by side and shares their fsyncs itself; batching there
   * would only make transactions of different processes wait on each other's rows.
   */
  async signal(s: AlertSignal): Promise<SignalResult> {
    if (this.store.engine !== 'sqlite') return this.signalAlone(s);
    return new Promise<SignalResult>((resolve, reject) => {
      this.queued.push({ s, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const batch = this.queued.splice(0, SIGNAL_BATCH);
        let results: SignalResult[] | undefined;
        if (batch.length > 1) {
          try {
            results = await this.store.db.transaction().execute(async (trx) => {
              const out: SignalResult[] = [];
              for (const b of batch) out.push(await this.signalIn(trx, b.s));
              return out;
            });
          } catch {
            results = undefined;
          }
        }
        if (results) {
          batch.forEach((b, i) => {
            this.publish(results[i]!);
            b.resolve(results[i]!);
          });
        } else {
          for (const b of batch) await this.signalAlone(b.s).then(b.resolve, b.reject);
        }
        // Let HTTP and timers run before the next batch.
        if (this.queued.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async signalAlone(s: AlertSignal): Promise<SignalResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.store.db.transaction().execute((trx) => this.signalIn(trx, s));
        this.publish(result);
        return result;
      } catch (e) {
        // Two first signals for one dedup key raced (PostgreSQL runs them concurrently): the
        // loser hit the open-alert unique index; retried, it finds the winner's alert and updates it.
        if (attempt < 5 && isUniqueViolation(e)) continue;
        throw e;
      }
    }
  }

  /**
   * Records a signal inside the caller's transaction (e.g. with the evaluator's own state). The
   * caller publishes the result after its commit.
   */
  async signalIn(trx: Transaction<Database>, s: AlertSignal): Promise<SignalResult> {
    // Taken before any alert row is locked (see appendTransition), so lock order never inverts.
    await this.store.serializeCommits(trx, TRANSITIONS_LOCK);
    const at = s.at ?? this.clock.now();
    const open = await openAlert.first(trx, { tenant: s.tenant, dedupKey: s.dedupKey });
    if (s.status === 'firing') {
      if (open) {
        await trx
          .updateTable('alerts')
          .set({
            // In SQL, not from the row read above: concurrent signals must not lose increments.
            last_seen: sql<number>`CASE WHEN last_seen > ${at} THEN last_seen ELSE ${at} END`,
            count: sql<number>`count + 1`,
            summary: s.summary,
            severity: s.severity,
            labels_json: JSON.stringify(s.labels ?? {}),
            details_json: JSON.stringify(s.details ?? {}),
            links_json: JSON.stringify(s.links ?? []),
          })
          .where('id', '=', open.id)
          .execute();
        return { alert: toAlert((await this.row(trx, open.id))!) };
      }
      const id = timeOrderedId('alt', this.clock.now());
      const row: AlertsTable = {
        id,
        tenant_id: s.tenant,
        dedup_key: s.dedupKey,
        source: s.source,
        service: s.service ?? null,
        status: 'firing',
        severity: s.severity,
        summary: s.summary,
        labels_json: JSON.stringify(s.labels ?? {}),
        details_json: JSON.stringify(s.details ?? {}),
        links_json: JSON.stringify(s.links ?? []),
        first_seen: at,
        last_seen: at,
        count: 1,
        resolved_at: null,
        acknowledged_at: null,
      };
      await insertAlert.run(trx, row);
      const transition = await this.appendTransition(trx, s.tenant, id, s.dedupKey, 'firing', at, s.values ?? {});
      // The row as inserted (no column has a default or trigger of its own): not read back, a
      // statement per alert saved in a storm.
      return { alert: toAlert(row), transition };
    }
    if (!open) {
      // Resolving what is not open (a repeat, or a resolve for an unknown key) changes nothing.
      const last = await lastAlertOfKey.first(trx, { tenant: s.tenant, dedupKey: s.dedupKey });
      if (last) return { alert: toAlert(last) };
      return { alert: phantom(s, at) };
    }
    await trx
      .updateTable('alerts')
      .set({ status: 'resolved', resolved_at: at, last_seen: Math.max(Number(open.last_seen), at) })
      .where('id', '=', open.id)
      .execute();
    const transition = await this.appendTransition(trx, s.tenant, open.id, s.dedupKey, 'resolved', at, s.values ?? {});
    return { alert: toAlert((await this.row(trx, open.id))!), transition };
  }

  /**
   * Marks the open alert with this key acknowledged (once) and appends an `acknowledged`
   * transition. Unknown or already acknowledged keys change nothing.
   */
  async acknowledge(tenant: string, dedupKey: string, at?: number): Promise<SignalResult | undefined> {
    const result = await this.store.db.transaction().execute((trx) => this.acknowledgeIn(trx, tenant, dedupKey, at));
    if (result) this.publish(result);
    return result;
  }

  async acknowledgeIn(trx: Transaction<Database>, tenant: string, dedupKey: string, at?: number): Promise<SignalResult | undefined> {
    await this.store.serializeCommits(trx, TRANSITIONS_LOCK);
    const when = at ?? this.clock.now();
    const open = await openAlert.first(trx, { tenant, dedupKey });
    if (!open) return undefined;
    if (open.acknowledged_at !== null && open.acknowledged_at !== undefined) return { alert: toAlert(open) };
    await trx.updateTable('alerts').set({ acknowledged_at: when }).where('id', '=', open.id).execute();
    const transition = await this.appendTransition(trx, tenant, open.id, dedupKey, 'acknowledged', when, {});
    return { alert: toAlert((await this.row(trx, open.id))!), transition };
  }

  /**
   * Resolves these alerts if they are still open (PagerDuty's semantics: resolving an incident
   * resolves its open alerts), appending a `resolved` transition for each, so the next trigger of
   * the same source opens a new alert, and with it a new incident and a page, instead of counting
   * into an alert nobody watches any more.
   */
  async resolveIn(trx: Transaction<Database>, alertIds: string[], at: number, values: Record<string, unknown>): Promise<SignalResult[]> {
    await this.store.serializeCommits(trx, TRANSITIONS_LOCK);
    if (alertIds.length === 0) return [];
    const open = await trx.selectFrom('alerts').selectAll().where('id', 'in', alertIds).where('status', '=', 'firing').execute();
    const out: SignalResult[] = [];
    for (const a of open) {
      // Guarded by the status: a source's own resolve racing this one appends no second transition.
      const r = await trx
        .updateTable('alerts')
        // last_seen stays: it is when the source last spoke, and it did not.
        .set({ status: 'resolved', resolved_at: at })
        .where('id', '=', a.id)
        .where('status', '=', 'firing')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) continue;
      const transition = await this.appendTransition(trx, a.tenant_id, a.id, a.dedup_key, 'resolved', at, values);
      out.push({ alert: toAlert((await this.row(trx, a.id))!), transition });
    }
    return out;
  }

  publish(r: SignalResult): void {
    if (r.transition) this.bus.emit('alert.transition', { transition: r.transition, alert: r.alert });
  }

  private async row(db: Db, id: string): Promise<AlertsTable | undefined> {
    return alertRow(db, id);
  }

  private async appendTransition(
    trx: Transaction<Database>,
    tenant: string,
    alertId: string,
    dedupKey: string,
    status: TransitionStatus,
    at: number,
    values: Record<string, unknown>,
  ): Promise<AlertTransition> {
    // Consumers read the outbox by position: rows must commit in the order of their numbers.
    await this.store.serializeCommits(trx, TRANSITIONS_LOCK);
    const [r] = await insertTransition.rows(trx, { tenant, alertId, dedupKey, status, at, values: JSON.stringify(values) });
    if (!r) throw new Error('alert_transitions: the insert returned no seq');
    return { seq: Number(r.seq), tenant, alertId, dedupKey, status, at, values };
  }

  async get(tenant: string, id: string): Promise<Alert | undefined> {
    const r = await this.store.db.selectFrom('alerts').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    return r && toAlert(r);
  }

  async list(tenant: string, filter: { status?: AlertStatus; limit?: number } = {}): Promise<Alert[]> {
    let q = this.store.db
      .selectFrom('alerts')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .orderBy('last_seen', 'desc')
      .limit(filter.limit ?? 100);
    if (filter.status) q = q.where('status', '=', filter.status);
    return (await q.execute()).map(toAlert);
  }

  /** Transitions after `seq`, oldest first, across tenants: what a paging consumer reads next. */
  async transitionsAfter(seq: number, limit = 100, db: Db = this.store.db): Promise<AlertTransition[]> {
    const rows = await db.selectFrom('alert_transitions').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      tenant: r.tenant_id,
      alertId: r.alert_id,
      dedupKey: r.dedup_key,
      status: r.status as TransitionStatus,
      at: Number(r.at),
      values: JSON.parse(r.values_json) as Record<string, unknown>,
    }));
  }
}

function toAlert(r: AlertsTable): Alert {
  return {
    id: r.id,
    tenant: r.tenant_id,
    dedupKey: r.dedup_key,
    source: r.source,
    service: r.service,
    status: r.status as AlertStatus,
    severity: r.severity,
    summary: r.summary,
    labels: JSON.parse(r.labels_json) as Record<string, string>,
    details: JSON.parse(r.details_json) as Record<string, unknown>,
    links: JSON.parse(r.links_json) as AlertLink[],
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    count: Number(r.count),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    acknowledgedAt: r.acknowledged_at === null || r.acknowledged_at === undefined ? null : Number(r.acknowledged_at),
  };
}

function phantom(s: AlertSignal, at: number): Alert {
  return {
    id: '',
    tenant: s.tenant,
    dedupKey: s.dedupKey,
    source: s.source,
    service: s.service ?? null,
    status: 'resolved',
    severity: s.severity,
    summary: s.summary,
    labels: s.labels ?? {},
    details: s.details ?? {},
    links: s.links ?? [],
    firstSeen: at,
    lastSeen: at,
    count: 0,
    resolvedAt: at,
  };
}

function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === '23505' || /UNIQUE constraint/.test(err.message ?? '');
}
