/**
 * What users read about SLOs: the list, one SLO's status (SLI, error budget, burn rates,
 * forecast, top breakdown values, alerts, backfill), its time series for charts, its alert
 * history, and backfill progress. Every figure comes from the counters through `measure`.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/clock.js';
import { KeelError } from '../core/errors.js';
import type { Database } from '../store/schema.js';
import { backfillProgress } from './backfill.js';
import { sumWindows } from './counter-reader.js';
import { minVolume, rankBreakdowns } from './breakdown-rank.js';
import { windowBreakdown } from './breakdown-window.js';
import { OVERALL } from './counter-writer.js';
import { formatDuration } from './durations.js';
import { coverage, type Coverage } from './coverage.js';
import { alertKeyParts, dedupKeyOfState } from './evaluator.js';
import { backfillPartitions, currentGeneration, currentGenerations, type Generation } from './generations.js';
import { budget, burnRate, forecast, sli, type Units } from './math.js';
import { alertWindows, forecastWindow, measureGeneration, measureGenerationAt, overallSeries, type ObjectiveMeasure } from './measure.js';
import { floorTo, MINUTE, sloWindowAt, sloWindowEndingAt, windowEnd, type SloWindow } from './windows.js';

const iso = (t: number) => new Date(t).toISOString();
const round = (v: number | null, digits = 6) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

export interface SeriesQuery {
  from?: number;
  to?: number;
  stepMs?: number;
}

export const MAX_SERIES_POINTS = 1000;
/** Chart points measured per read of the counters (their windows' rows in one query, counter-reader.ts). */
const SERIES_POINTS_PER_READ = 100;
export const MAX_BUCKETS = 100_000;

export class SloStatusService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly warnings: (tenant: string, gen: Generation) => Promise<string[]> = async () => [],
    /** Event time of the tenant's oldest retained batch (the backfill cannot count anything older). */
    private readonly oldestRetained: (tenant: string) => Promise<number | undefined> = async () => undefined,
  ) {}

  /** How much of the window the generation holds events for (see coverage.ts). */
  private async coverage(g: Generation, w: SloWindow, series: Map<number, number>): Promise<Coverage> {
    const ids = [...series.values()];
    const counted = ids.length
      ? await this.db
          .selectFrom('slo_counts')
          .select((eb) => eb.fn.min('bucket').as('first'))
          .where('series_id', 'in', ids)
          .where('res', '=', 60)
          .executeTakeFirst()
      : undefined;
    const first = counted?.first;
    return coverage(w, {
      liveSince: g.backfillStartedAt ?? g.createdAt,
      oldestRetained: await this.oldestRetained(g.tenant),
      oldestCounted: first === null || first === undefined ? undefined : Number(first),
    });
  }

  private async gen(tenant: string, name: string): Promise<Generation> {
    const g = await currentGeneration(this.db, tenant, name);
    if (!g) throw new KeelError('not_found', `SLO ${name} not found`);
    return g;
  }

  async list(tenant: string) {
    const now = this.clock.now();
    const gens = await currentGenerations(this.db, tenant);
    const parts = await backfillPartitions(
      this.db,
      gens.map((g) => g.uid),
    );
    const firing = await this.db.selectFrom('slo_alert_state').select(['slo_name', 'severity']).where('tenant_id', '=', tenant).where('status', '=', 'firing').execute();
    const out = [];
    for (const g of gens) {
      // The alert windows too: the list shows each objective's burn rates (one read of the counters either way).
      const measures = await measureGeneration(this.db, g, sloWindowAt(g.slo.window, now), windowEnd(now), alertWindows(g.slo));
      out.push({
        name: g.name,
        ...(g.slo.displayName ? { displayName: g.slo.displayName } : {}),
        service: g.slo.service,
        budgetingMethod: g.slo.method,
        window: g.slo.window.text,
        objectives: measures.map((m) => ({
          name: g.slo.objectives[m.objective]!.name,
          target: m.target,
          sli: round(sli(m.slo.units)),
          budgetRemainingPercent: round(budget(m.slo.units, m.target).remainingRatio * 100, 3),
          events: { good: m.slo.events.good, total: m.slo.events.total },
          burnRates: [...m.windows.entries()].map(([ms, v]) => ({ window: formatDuration(ms), burnRate: round(burnRate(v.units, m.target), 6) })),
        })),
        firing: [...new Set(firing.filter((f) => f.slo_name === g.name).map((f) => f.severity))],
        backfill: backfillProgress(g, parts.get(g.uid) ?? []),
      });
    }
    return { slos: out };
  }

  async status(tenant: string, name: string) {
    const g = await this.gen(tenant, name);
    const now = this.clock.now();
    const w = sloWindowAt(g.slo.window, now);
    const series = await overallSeries(this.db, g.uid);
    const windows = alertWindows(g.slo);
    const measures = await measureGeneration(this.db, g, w, windowEnd(now), windows, series);
    const breakdownRows = g.slo.breakdown.length
      ? await this.db.selectFrom('slo_series').select(['id', 'objective', 'breakdown']).where('gen_uid', '=', g.uid).where('breakdown', '!=', OVERALL).execute()
      : [];
    const objectives = [];
    for (const m of measures) {
      objectives.push({
        ...this.objectiveStatus(g, m, now, w),
        ...(await this.breakdown(
          g,
          breakdownRows.filter((r) => Number(r.objective) === m.objective),
          m.slo.events,
          { from: w.start, to: w.end },
        )),
      });
    }
    const alertRows = await this.db.selectFrom('slo_alert_state').selectAll().where('tenant_id', '=', tenant).where('slo_name', '=', name).orderBy('alert_key').execute();
    const parts = (await backfillPartitions(this.db, [g.uid])).get(g.uid) ?? [];
    return {
      name: g.name,
      ...(g.slo.displayName ? { displayName: g.slo.displayName } : {}),
      ...(g.slo.description ? { description: g.slo.description } : {}),
      service: g.slo.service,
      generation: g.uid,
      budgetingMethod: g.slo.method,
      indicator: g.slo.indicator,
      breakdown: g.slo.breakdown.map((p) => p.join('.')),
      window: { ...windowJson(g, w), coverage: coverageJson(await this.coverage(g, w, series)) },
      objectives,
      alerts: alertRows.map((r) => ({
        objective: Number(r.objective),
        policy: r.policy,
        severity: r.severity,
        status: r.status,
        since: iso(Number(r.since)),
        dedupKey: dedupKeyOfState(name, g.slo.objectives.length, r),
        values: JSON.parse(r.values_json) as unknown,
      })),
      policies: g.slo.policies.map((p) => ({
        name: p.name,
        builtin: p.builtin,
        conditions: p.conditions.map((c) => ({
          name: c.name,
          severity: c.severity,
          op: c.op,
          threshold: c.threshold,
          longWindow: formatDuration(c.longMs),
          shortWindow: formatDuration(c.shortMs),
          alertAfter: formatDuration(c.alertAfterMs),
        })),
        notificationTargets: p.notificationTargets,
      })),
      backfill: backfillProgress(g, parts),
      warnings: await this.warnings(tenant, g),
      evaluatedAt: iso(now),
    };
  }

  /**
   * The breakdown values that explain the bad events (breakdown-rank.ts): per-attribute marginals
   * and full combinations, ranked by bad ratio against the SLO's, and how much the combinations'
   * `__other__` holds.
   */
  private async breakdown(g: Generation, rows: { id: number | bigint | string; breakdown: string }[], overall: { good: number; total: number }, window: { from: number; to: number }) {
    if (g.slo.breakdown.length === 0) return {};
    const names = g.slo.breakdown.map((p) => p.join('.'));
    const { candidates, other } = await windowBreakdown(this.db, names, rows, window);
    const bad = overall.total - overall.good;
    return {
      topBreakdown: rankBreakdowns({ bad, total: overall.total }, candidates, 10).map((t) => ({
        values: t.values,
        badEvents: t.bad,
        totalEvents: t.total,
        badRatio: round(t.badRatio, 6),
        lift: round(t.lift, 3),
      })),
      breakdownBaseline: { badRatio: overall.total > 0 ? round(bad / overall.total, 6) : null, minTotalEvents: minVolume(overall.total) },
      breakdownOther: { badEvents: other.bad, totalEvents: other.total, badShare: bad > 0 ? round(other.bad / bad, 6) : 0 },
    };
  }

  private objectiveStatus(g: Generation, m: ObjectiveMeasure, now: number, w: SloWindow) {
    const o = g.slo.objectives[m.objective]!;
    const b = budget(m.slo.units, m.target);
    const fw = forecastWindow(g.slo);
    const rateNow = burnRate(m.windows.get(fw)?.units ?? { good: 0, total: 0 }, m.target);
    const f = forecast(b.remainingRatio, rateNow, w.lengthMs, fw, now, w.periodEnd);
    const events = m.slo.events;
    const sliced = g.slo.method !== 'Occurrences';
    return {
      index: m.objective,
      name: o.name,
      target: o.target,
      targetPercent: round(o.target * 100, 6),
      ...(o.op ? { op: o.op, value: o.value } : {}),
      ...(o.timeSliceMs ? { timeSliceWindow: formatDuration(o.timeSliceMs) } : {}),
      ...(o.timeSliceTarget !== undefined ? { timeSliceTarget: o.timeSliceTarget } : {}),
      sli: round(sli(m.slo.units), 9),
      events: { good: events.good, bad: events.total - events.good, total: events.total },
      ...(sliced ? { slices: unitsJson(m.slo.units) } : {}),
      errorBudget: {
        unit: sliced ? 'slices' : 'events',
        total: round(b.total, 6),
        consumed: round(b.consumed, 6),
        remaining: round(b.remaining, 6),
        remainingPercent: round(b.remainingRatio * 100, 4),
        consumedPercent: round((1 - b.remainingRatio) * 100, 4),
      },
      burnRates: [...m.windows.entries()].map(([ms, v]) => ({
        window: formatDuration(ms),
        seconds: ms / 1000,
        burnRate: round(burnRate(v.units, m.target), 6),
        badEvents: v.events.total - v.events.good,
        totalEvents: v.events.total,
      })),
      forecast: {
        window: formatDuration(fw),
        burnRate: round(f.burnRate, 6),
        exhausted: f.exhausted,
        exhaustsAt: f.exhaustsAt === null ? null : iso(f.exhaustsAt),
        exhaustsInSeconds: f.inMs === null ? null : Math.round(f.inMs / 1000),
      },
    };
  }

  async series(tenant: string, name: string, q: SeriesQuery) {
    const g = await this.gen(tenant, name);
    const now = this.clock.now();
    const latest = floorTo(windowEnd(now), MINUTE) + MINUTE;
    const to = Math.min(q.to !== undefined ? Math.ceil(q.to / MINUTE) * MINUTE : latest, latest);
    const from = q.from !== undefined ? floorTo(q.from, MINUTE) : to - 24 * 3_600_000;
    if (from >= to) throw new KeelError('validation_failed', '`from` must be before `to`', { details: [{ path: 'from', message: 'must be before to' }] });
    const step = q.stepMs ?? Math.max(MINUTE, Math.ceil((to - from) / 100 / MINUTE) * MINUTE);
    if (step % MINUTE !== 0) throw new KeelError('validation_failed', '`step` must be a whole number of minutes', { details: [{ path: 'step', message: 'must be a multiple of 1m' }] });
    const points = Math.floor((to - from) / step) + 1;
    if (points > MAX_SERIES_POINTS) {
      throw new KeelError('validation_failed', `from, to and step give ${points} points; at most ${MAX_SERIES_POINTS}`, {
        details: [{ path: 'step', message: `at most ${MAX_SERIES_POINTS} points` }],
      });
    }
    const series = await overallSeries(this.db, g.uid);
    const windows = alertWindows(g.slo);
    const objectives = g.slo.objectives.map((o, i) => ({ index: i, name: o.name, target: o.target, points: [] as unknown[] }));
    const times: number[] = [];
    for (let t = from; t <= to; t += step) times.push(t);
    const measured: ObjectiveMeasure[][] = [];
    // Many points per read: one query per point made a 30-day chart take 6.4 s.
    for (let i = 0; i < times.length; i += SERIES_POINTS_PER_READ) {
      const chunk = times.slice(i, i + SERIES_POINTS_PER_READ);
      measured.push(
        ...(await measureGenerationAt(
          this.db,
          g,
          chunk.map((t) => ({ sloWindow: sloWindowEndingAt(g.slo.window, t), end: t })),
          windows,
          series,
        )),
      );
    }
    for (const [i, measures] of measured.entries()) {
      const t = times[i]!;
      for (const m of measures) {
        objectives[m.objective]!.points.push({
          t: iso(t),
          sli: round(sli(m.slo.units), 9),
          budgetRemaining: round(budget(m.slo.units, m.target).remainingRatio, 9),
          events: { good: m.slo.events.good, total: m.slo.events.total },
          burnRates: Object.fromEntries([...m.windows.entries()].map(([ms, v]) => [formatDuration(ms), round(burnRate(v.units, m.target), 6)])),
        });
      }
    }
    return { name, from: iso(from), to: iso(to), step: formatDuration(step), stepSeconds: step / 1000, objectives };
  }

  /** Raw counters of one objective at one resolution: what the windows are summed from. */
  async buckets(tenant: string, name: string, q: { objective: number; resSeconds: number; from?: number; to?: number; breakdown?: boolean }) {
    const g = await this.gen(tenant, name);
    if (q.objective >= g.slo.objectives.length) {
      throw new KeelError('validation_failed', `objective ${q.objective} does not exist (the SLO has ${g.slo.objectives.length})`, { details: [{ path: 'objective', message: 'no such objective' }] });
    }
    let series = this.db.selectFrom('slo_series').select(['id', 'breakdown']).where('gen_uid', '=', g.uid).where('objective', '=', q.objective);
    if (!q.breakdown) series = series.where('breakdown', '=', OVERALL);
    // Combinations only: per-attribute marginals are the same events counted again.
    else series = series.where('breakdown', 'not like', '{%');
    const ids = await series.execute();
    const byId = new Map(ids.map((r) => [Number(r.id), r.breakdown === OVERALL ? null : (JSON.parse(r.breakdown) as string[])]));
    if (byId.size === 0) return { name, objective: q.objective, resolutionSeconds: q.resSeconds, buckets: [] };
    let rows = this.db
      .selectFrom('slo_counts')
      .select(['series_id', 'bucket', 'good', 'total'])
      .where('series_id', 'in', [...byId.keys()])
      .where('res', '=', q.resSeconds);
    if (q.from !== undefined) rows = rows.where('bucket', '>=', q.from);
    if (q.to !== undefined) rows = rows.where('bucket', '<', q.to);
    const list = await rows
      .orderBy('bucket')
      .orderBy('series_id')
      .limit(MAX_BUCKETS + 1)
      .execute();
    if (list.length > MAX_BUCKETS) {
      throw new KeelError('validation_failed', `more than ${MAX_BUCKETS} buckets match; narrow from/to or use a coarser res`, {
        details: [{ path: 'res', message: `at most ${MAX_BUCKETS} buckets` }],
      });
    }
    return {
      name,
      objective: q.objective,
      resolutionSeconds: q.resSeconds,
      buckets: list.map((r) => {
        const values = byId.get(Number(r.series_id));
        return {
          start: iso(Number(r.bucket)),
          good: Number(r.good),
          total: Number(r.total),
          ...(values ? { breakdown: Object.fromEntries(g.slo.breakdown.map((p, i) => [p.join('.'), values.length === 1 && g.slo.breakdown.length > 1 ? values[0]! : (values[i] ?? '')])) } : {}),
        };
      }),
    };
  }

  async alerts(tenant: string, name: string, limit: number) {
    const g = await currentGeneration(this.db, tenant, name);
    const history = await this.db.selectFrom('slo_alert_history').selectAll().where('tenant_id', '=', tenant).where('slo_name', '=', name).orderBy('id', 'desc').limit(limit).execute();
    if (!g && history.length === 0) throw new KeelError('not_found', `SLO ${name} not found`);
    const state = await this.db.selectFrom('slo_alert_state').selectAll().where('tenant_id', '=', tenant).where('slo_name', '=', name).orderBy('alert_key').execute();
    const objectives = g?.slo.objectives.length ?? 1;
    return {
      name,
      alerts: state.map((r) => ({
        objective: Number(r.objective),
        policy: r.policy,
        severity: r.severity,
        status: r.status,
        since: iso(Number(r.since)),
        dedupKey: dedupKeyOfState(name, objectives, r),
        values: JSON.parse(r.values_json) as unknown,
      })),
      transitions: history.map((h) => {
        const parts = alertKeyParts(h.alert_key);
        return {
          alert: h.alert_key,
          ...parts,
          dedupKey: dedupKeyOfState(name, objectives, { ...parts, alert_key: h.alert_key }),
          status: h.status,
          at: iso(Number(h.at)),
          values: JSON.parse(h.values_json) as unknown,
        };
      }),
    };
  }

  async backfills(tenant: string, name?: string) {
    const gens = (await currentGenerations(this.db, tenant)).filter((g) => name === undefined || g.name === name);
    if (name !== undefined && gens.length === 0) throw new KeelError('not_found', `SLO ${name} not found`);
    const parts = await backfillPartitions(
      this.db,
      gens.map((g) => g.uid),
    );
    return { backfills: gens.map((g) => ({ slo: g.name, generation: g.uid, ...backfillProgress(g, parts.get(g.uid) ?? []) })) };
  }
}

function unitsJson(u: Units) {
  return { good: round(u.good, 6), bad: round(u.total - u.good, 6), total: u.total };
}

function coverageJson(c: Coverage) {
  return { from: iso(c.from), percent: round(c.ratio * 100, 2), complete: c.ratio >= 1 };
}

function windowJson(g: Generation, w: SloWindow) {
  const tw = g.slo.window;
  return {
    duration: tw.text,
    rolling: tw.rolling,
    ...(tw.rolling ? {} : { calendar: { startTime: tw.startTime, timeZone: tw.timeZone } }),
    start: iso(w.start),
    end: iso(w.end),
    lengthSeconds: w.lengthMs / 1000,
    ...(w.periodEnd !== undefined ? { periodEnd: iso(w.periodEnd) } : {}),
  };
}
