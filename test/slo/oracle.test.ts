/**
 * A randomized oracle: random events and random SLO definitions (rolling and calendar windows in
 * DST zones, every budgeting method), then every SLI, budget and burn rate from the API compared
 * with a brute-force recount of the raw events, filtered by the cel-js library's own evaluator.
 * Half the SLOs count live, half are backfilled. Seed: KEEL_ORACLE_SEED (printed on failure).
 */
import { evaluate } from '@marcbachmann/cel-js';
import { DateTime } from 'luxon';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../src/bench/events.js';
import { FakeClock } from '../../src/core/clock.js';
import { http, ndjson, startTestKeel, type TestKeel } from '../helpers/keel.js';
import { SERVICE, applyYaml, settled } from './fixtures.js';

const SEED = Number(process.env.KEEL_ORACLE_SEED ?? 20260329);
const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;

// Events from 25 February to 30 March 2026 12:00 UTC: Berlin moves its clocks on 29 March at
// 01:00 UTC (a 23-hour day), New York on 8 March at 07:00 UTC.
const START = Date.parse('2026-02-25T00:00:00Z');
const END = Date.parse('2026-03-30T12:00:00Z');
const EVAL_TIMES = ['2026-03-29T00:30:05Z', '2026-03-29T01:30:00Z', '2026-03-29T22:17:44Z', '2026-03-30T00:10:00Z', '2026-03-30T11:59:59Z'].map(Date.parse);

type Ev = Record<string, unknown>;
function randomEvent(at: number): Ev {
  const ev: Ev = {};
  const fmt = rnd();
  if (fmt < 0.5) ev.ts = new Date(at).toISOString();
  else if (fmt < 0.7) ev.ts = at;
  else if (fmt < 0.85) ev.ts = DateTime.fromMillis(at, { zone: 'America/New_York' }).toISO({ includeOffset: true });
  else ev.ts = DateTime.fromMillis(at, { zone: 'Asia/Kolkata' }).toFormat("yyyy-MM-dd'T'HH:mm:ss.SSSZZ");
  ev.service = pick(['a', 'a', 'b', 'c']);
  const s = rnd();
  if (s < 0.9) ev.status = pick([200, 200, 200, 200, 404, 500, 503]);
  else if (s < 0.95) ev.status = '200';
  ev.latency_ms = Math.round(rnd() * 10000) / 10;
  if (rnd() < 0.9) ev.region = pick(['eu-west', 'eu-north', 'us', 'ap']);
  if (rnd() < 0.4) ev.http = { code: pick([200, 302, 500]) };
  return ev;
}

const events: Ev[] = [];
for (let i = 0; i < 12_000; i++) events.push(randomEvent(START + Math.floor(rnd() * (END - START))));
// Dense traffic around each evaluation time, so short alert windows have events.
for (const t of EVAL_TIMES) for (let i = 0; i < 400; i++) events.push(randomEvent(t - Math.floor(rnd() * 2 * H) + 15 * MIN));
events.sort(() => rnd() - 0.5);

const TOTALS = ['service == "a"', 'service in ["a", "b"]', 'region.startsWith("eu")', 'has(http.code)', 'service != "c" && region == "us"', 'status >= 200'];
const GOODS = ['status < 500', 'status != 503 && latency_ms < 800', 'http.code < 500 || status == 200', 'latency_ms <= 250'];
const BADS = ['status >= 500', 'status == 404 || latency_ms > 900'];

interface Spec {
  name: string;
  doc: Record<string, unknown>;
  kind: 'ratio' | 'threshold';
  total?: string;
  good?: string;
  bad?: string;
  value?: string;
  filter?: string;
  objectives: { op?: string; value?: number; target: number; timeSliceTarget?: number; sliceMs?: number }[];
  method: string;
  window: { rolling: true; ms: number } | { rolling: false; amount: number; unit: 'd' | 'w' | 'M'; startTime: string; timeZone: string };
}

function randomSpec(i: number): Spec {
  const method = pick(['Occurrences', 'Occurrences', 'Timeslices', 'RatioTimeslices']);
  const sliceText = pick(['1m', '5m', '10m', '1h']);
  const sliceMs = { '1m': MIN, '5m': 5 * MIN, '10m': 10 * MIN, '1h': H }[sliceText]!;
  const rolling = rnd() < 0.5;
  const window: Spec['window'] = rolling
    ? (() => {
        const text = pick(['1h', '6h', '1d', '3d', '7d', '28d']);
        return { rolling: true as const, ms: { '1h': H, '6h': 6 * H, '1d': D, '3d': 3 * D, '7d': 7 * D, '28d': 28 * D }[text]!, text };
      })()
    : {
        rolling: false,
        amount: pick([1, 2]),
        unit: pick(['d', 'w', 'M'] as const),
        startTime: `2026-01-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')} ${String(Math.floor(rnd() * 24)).padStart(2, '0')}:${pick(['00', '30'])}:00`,
        timeZone: pick(['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC']),
      };
  const threshold = rnd() < 0.35;
  const spec: Spec = { name: `slo-${i}`, doc: {}, kind: threshold ? 'threshold' : 'ratio', objectives: [], method, window };
  const source = (query: string, extra: Record<string, string> = {}) => ({ metricSource: { type: 'keel', spec: { query, ...extra } } });
  let indicator: Record<string, unknown>;
  if (threshold) {
    spec.value = 'latency_ms';
    if (rnd() < 0.7) spec.filter = pick(TOTALS);
    indicator = { thresholdMetric: source('latency_ms', spec.filter ? { filter: spec.filter } : {}) };
    const n = rnd() < 0.5 ? 1 : 2;
    for (let k = 0; k < n; k++) spec.objectives.push({ op: pick(['lt', 'lte', 'gt', 'gte']), value: Math.round(rnd() * 900), target: pick([0.5, 0.9, 0.95]) });
  } else {
    spec.total = pick(TOTALS);
    if (rnd() < 0.6) spec.good = pick(GOODS);
    else spec.bad = pick(BADS);
    indicator = { ratioMetric: { counter: true, total: source(spec.total), ...(spec.good ? { good: source(spec.good) } : { bad: source(spec.bad!) }) } };
    spec.objectives.push({ target: pick([0.9, 0.95, 0.99, 0.999]) });
  }
  for (const o of spec.objectives) {
    if (method !== 'Occurrences') o.sliceMs = sliceMs;
    if (method === 'Timeslices') o.timeSliceTarget = pick([0.5, 0.8, 0.95]);
  }
  spec.doc = {
    apiVersion: 'openslo/v1',
    kind: 'SLO',
    metadata: { name: spec.name },
    spec: {
      service: 'checkout',
      indicator: { metadata: { name: `${spec.name}-sli` }, spec: indicator },
      timeWindow: [
        window.rolling
          ? { duration: (window as { text?: string }).text, isRolling: true }
          : { duration: `${window.amount}${window.unit}`, isRolling: false, calendar: { startTime: window.startTime, timeZone: window.timeZone } },
      ],
      budgetingMethod: method,
      ...(rnd() < 0.4 ? { breakdown: pick([['region'], ['service', 'region']]) } : {}),
      objectives: spec.objectives.map((o) => ({
        ...(o.op ? { op: o.op, value: o.value } : {}),
        target: o.target,
        ...(o.sliceMs ? { timeSliceWindow: sliceText } : {}),
        ...(o.timeSliceTarget !== undefined ? { timeSliceTarget: o.timeSliceTarget } : {}),
      })),
    },
  };
  return spec;
}

const specs = Array.from({ length: 10 }, (_, i) => randomSpec(i));
const clock = new FakeClock(END + H);
let t: TestKeel;
let stored: Ev[] = [];

beforeAll(async () => {
  t = await startTestKeel({ log: { retention: { maxAge: '400d' } } }, { clock });
  const live = specs.slice(0, 5);
  const later = specs.slice(5);
  const docs = (list: Spec[]) => [SERVICE, ...list.map((s) => YAML.stringify(s.doc))].join('---\n');
  expect((await applyYaml(t.url, t.adminKey, docs(live))).status).toBe(200);
  for (let i = 0; i < events.length; i += 2000) {
    const r = await http(`${t.url}/v1/events`, { key: t.adminKey, body: ndjson(events.slice(i, i + 2000)), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.body.rejected).toBe(0);
  }
  const applied = await applyYaml(t.url, t.adminKey, docs([...live, ...later]));
  expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  await settled(t.url, t.adminKey);
  let cursor = '';
  for (;;) {
    const page = await http(`${t.url}/v1/events?limit=10000${cursor ? `&cursor=${cursor}` : ''}`, { key: t.adminKey });
    stored.push(...page.body.events);
    cursor = page.body.cursor;
    if (!page.body.has_more) break;
  }
}, 120_000);
afterAll(async () => t?.close());

function matches(expr: string | undefined, ev: Ev): boolean {
  if (expr === undefined) return true;
  try {
    return evaluate(expr, ev) === true;
  } catch {
    return false;
  }
}

const ts = (ev: Ev) => (typeof ev.ts === 'number' ? ev.ts : Date.parse(ev.ts as string));

/** The brute force: per event, does it count, and is it good (per objective). */
function classify(spec: Spec, ev: Ev, o: number): 'skip' | 'good' | 'bad' {
  if (spec.kind === 'ratio') {
    if (!matches(spec.total, ev)) return 'skip';
    const good = spec.good !== undefined ? matches(spec.good, ev) : !matches(spec.bad, ev);
    return good ? 'good' : 'bad';
  }
  if (!matches(spec.filter, ev)) return 'skip';
  const v = ev.latency_ms as number;
  const obj = spec.objectives[o]!;
  const ok = obj.op === 'lt' ? v < obj.value! : obj.op === 'lte' ? v <= obj.value! : obj.op === 'gt' ? v > obj.value! : v >= obj.value!;
  return ok ? 'good' : 'bad';
}

function calendarWindow(w: Extract<Spec['window'], { rolling: false }>, now: number): { start: number; end: number } {
  const origin = DateTime.fromFormat(w.startTime, 'yyyy-MM-dd HH:mm:ss', { zone: w.timeZone });
  const step = (k: number) => origin.plus(w.unit === 'd' ? { days: k * w.amount } : w.unit === 'w' ? { weeks: k * w.amount } : { months: k * w.amount }).toMillis();
  let k = 0;
  while (step(k + 1) <= now) k++;
  return { start: step(k), end: step(k + 1) };
}

interface Units {
  good: number;
  total: number;
  events: { good: number; total: number };
}

// Each event's verdict per SLO objective, computed once (it does not depend on time).
const verdicts = new Map<string, { at: number; c: 'good' | 'bad' }[]>();
function classified(spec: Spec, o: number): { at: number; c: 'good' | 'bad' }[] {
  const key = `${spec.name}/${o}`;
  let list = verdicts.get(key);
  if (!list) {
    list = [];
    for (const ev of stored) {
      const c = classify(spec, ev, o);
      if (c !== 'skip') list.push({ at: ts(ev), c });
    }
    verdicts.set(key, list);
  }
  return list;
}

function oracle(spec: Spec, o: number, from: number, to: number): Units {
  const events = { good: 0, total: 0 };
  const slices = new Map<number, { good: number; total: number }>();
  const obj = spec.objectives[o]!;
  for (const { at, c } of classified(spec, o)) {
    if (at >= from && at < to) {
      events.total++;
      if (c === 'good') events.good++;
    }
    if (obj.sliceMs) {
      // A slice belongs to the window by its start and holds every event counted in it.
      const s = Math.floor(at / obj.sliceMs) * obj.sliceMs;
      if (s >= from && s < to) {
        const x = slices.get(s) ?? { good: 0, total: 0 };
        x.total++;
        if (c === 'good') x.good++;
        slices.set(s, x);
      }
    }
  }
  if (spec.method === 'Occurrences') return { ...events, events };
  let good = 0;
  for (const x of slices.values()) good += spec.method === 'Timeslices' ? (x.good / x.total >= obj.timeSliceTarget! ? 1 : 0) : x.good / x.total;
  return { good, total: slices.size, events };
}

describe('randomized oracle', () => {
  it(`matches a brute-force recount for every SLI, budget and burn rate (seed ${SEED})`, async () => {
    let compared = 0;
    for (const now of EVAL_TIMES) {
      clock.set(now);
      const end = Math.floor(now / 10_000) * 10_000;
      for (const spec of specs) {
        const r = await http(`${t.url}/v1/slos/${spec.name}`, { key: t.adminKey });
        expect(r.status).toBe(200);
        const w = spec.window.rolling
          ? { start: Math.floor((end - spec.window.ms) / MIN) * MIN, end }
          : (() => {
              const p = calendarWindow(spec.window, now);
              return { start: p.start, end: Math.min(end, p.end) };
            })();
        const where = `seed ${SEED}, ${spec.name} (${JSON.stringify(spec.doc.spec)}) at ${new Date(now).toISOString()}`;
        expect(r.body.window.start, where).toBe(new Date(w.start).toISOString());
        expect(r.body.window.end, where).toBe(new Date(w.end).toISOString());
        spec.objectives.forEach((obj, o) => {
          const api = r.body.objectives[o];
          const u = oracle(spec, o, w.start, w.end);
          expect(api.events, where).toEqual({ good: u.events.good, bad: u.events.total - u.events.good, total: u.events.total });
          if (u.total === 0) expect(api.sli, where).toBeNull();
          else expect(api.sli, where).toBeCloseTo(u.good / u.total, 8);
          const remaining = u.total === 0 ? 1 : 1 - (u.total - u.good) / (u.total * (1 - obj.target));
          expect(api.errorBudget.remainingPercent, where).toBeCloseTo(remaining * 100, 2);
          for (const b of api.burnRates as { seconds: number; burnRate: number; totalEvents: number }[]) {
            const bu = oracle(spec, o, end - b.seconds * 1000, end);
            expect(b.totalEvents, `${where} window ${b.seconds}s`).toBe(bu.events.total);
            const want = bu.total === 0 ? 0 : (bu.total - bu.good) / bu.total / (1 - obj.target);
            expect(b.burnRate, `${where} window ${b.seconds}s`).toBeCloseTo(want, 4);
            compared++;
          }
        });
      }
    }
    expect(compared).toBeGreaterThan(200);
  });
});
