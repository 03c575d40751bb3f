/**
 * The counter writer on a real store: each 10 s cell lands in its 10 s, minute, hour and day
 * buckets (adding to what is there), breakdown combinations beyond the cap go to `__other__`
 * with totals still exact, cells past their retention are not written, time-slice verdicts roll
 * up as slices change (exactly at the slice target a slice is good), and a rolled-back
 * transaction leaves no stale series ids behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketCells, type GenDelta } from '../../src/slo/fold.js';
import { CounterWriter, OTHER_KEY, OVERALL, sliceRollupLevels, type GenInfo } from '../../src/slo/counter-writer.js';
import type { ResolvedSlo } from '../../src/slo/model.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse('2026-08-10T12:00:00Z');
const S0 = NOW - 10 * 60_000; // a minute-aligned slice start

function slo(method: ResolvedSlo['method'], timeSliceTarget?: number): ResolvedSlo {
  return {
    name: 's',
    service: 'svc',
    indicator: { kind: 'ratio', name: 'i', total: 'true', good: 'true' },
    window: { rolling: true, ms: DAY, text: '1d' },
    method,
    objectives: [{ name: 'o', target: 0.5, ...(method === 'Occurrences' ? {} : { timeSliceMs: 60_000 }), ...(timeSliceTarget === undefined ? {} : { timeSliceTarget }) }],
    breakdown: method === 'Occurrences' ? [['region']] : [],
    policies: [],
  };
}

/**
 * A fold result for generation `uid`: [bucket, good, bad] cells, and per breakdown value (more
 * streams: one per objective). A breakdown key `eu|web` is the combination of two attributes' values.
 */
function fold(uid: string, cells: [number, number, number][], combos: Record<string, [number, number, number][]> = {}, ...more: [number, number, number][][]): Map<string, GenDelta> {
  const fill = (list: [number, number, number][]) => {
    const c = new BucketCells();
    for (const [bucket, good, bad] of list) {
      for (let i = 0; i < good; i++) c.add(bucket, true);
      for (let i = 0; i < bad; i++) c.add(bucket, false);
    }
    return c;
  };
  const stream = { all: fill(cells), combos: Object.entries(combos).map(([v, list]) => ({ values: v.split('|'), cells: fill(list) })), comboTree: new Map() };
  const others = more.map((list) => ({ all: fill(list), combos: [], comboTree: new Map() }));
  return new Map([[uid, { uid, streams: [stream, ...others] }]]);
}

let ts: TestStore;
const gens: Record<string, GenInfo> = {
  occ: { slo: slo('Occurrences'), kind: 'ratio' },
  ts: { slo: slo('Timeslices', 0.75), kind: 'ratio' },
  rts: { slo: slo('RatioTimeslices'), kind: 'ratio' },
  occ2: { slo: slo('Occurrences'), kind: 'ratio' },
  long: { slo: { ...slo('Timeslices', 0.5), window: { rolling: true, ms: 90 * DAY, text: '90d' } }, kind: 'ratio' },
  thr: {
    slo: {
      ...slo('Occurrences'),
      breakdown: [],
      objectives: [
        { name: 'fast', target: 0.9, op: 'lte', value: 100 },
        { name: 'ok', target: 0.99, op: 'lte', value: 500 },
      ],
    },
    kind: 'threshold',
  },
};
const info = (uid: string) => gens[uid];

async function write(w: CounterWriter, deltas: Map<string, GenDelta>, now = NOW) {
  w.begin();
  await ts.store.db.transaction().execute((trx) => w.write(trx, info, deltas, now));
  w.committed();
}

async function seriesOf(uid: string) {
  const rows = await ts.store.db.selectFrom('slo_series').selectAll().where('gen_uid', '=', uid).orderBy('id').execute();
  return new Map(rows.map((r) => [r.breakdown, Number(r.id)]));
}

async function counts(series: number) {
  const rows = await ts.store.db.selectFrom('slo_counts').selectAll().where('series_id', '=', series).orderBy('res').orderBy('bucket').execute();
  return rows.map((r) => [Number(r.res), Number(r.bucket), Number(r.good), Number(r.total)]);
}

async function rollups(series: number) {
  const rows = await ts.store.db.selectFrom('slo_slice_rollups').selectAll().where('series_id', '=', series).orderBy('res').execute();
  return rows.map((r) => [Number(r.res), Number(r.bucket), Number(r.good_slices), Number(r.total_slices), Number(r.ratio_sum)]);
}

beforeAll(async () => {
  ts = await openTestStore('sqlite');
});
afterAll(async () => ts?.close());

describe('the counter writer', () => {
  it('adds each cell to its 10 s, minute, hour and day buckets, summing cells of one bucket and repeated writes', async () => {
    const w = new CounterWriter(10);
    await write(
      w,
      fold('occ', [
        [S0, 2, 1],
        [S0 + 10_000, 1, 0],
        [S0 + 60_000, 0, 3],
      ]),
    );
    await write(w, fold('occ', [[S0, 1, 0]]));
    const overall = (await seriesOf('occ')).get(OVERALL)!;
    const hour = Math.floor(S0 / HOUR) * HOUR;
    const day = Math.floor(S0 / DAY) * DAY;
    expect(await counts(overall)).toEqual([
      [10, S0, 3, 4],
      [10, S0 + 10_000, 1, 1],
      [10, S0 + 60_000, 0, 3],
      [60, S0, 4, 5],
      [60, S0 + 60_000, 0, 3],
      [3600, hour, 4, 8],
      [86400, day, 4, 8],
    ]);
  });

  it('gives each breakdown combination a series up to the cap, then counts the rest as __other__', async () => {
    const w = new CounterWriter(2);
    await write(w, fold('occ', [[S0, 4, 0]], { eu: [[S0, 1, 0]], us: [[S0, 1, 0]], ap: [[S0, 1, 0]], sa: [[S0, 1, 0]] }));
    // A new writer (another process) finds the existing series and the cap already reached.
    await write(new CounterWriter(2), fold('occ', [[S0, 1, 0]], { eu: [[S0, 1, 0]], af: [[S0, 1, 0]] }));
    const series = await seriesOf('occ');
    // Within one write, new combinations are admitted in key order (the writer creates series in
    // one global order so that concurrent writers never deadlock): "ap" and "eu" of the first write.
    expect([...series.keys()].sort()).toEqual([OVERALL, OTHER_KEY, '["ap"]', '["eu"]'].sort());
    expect((await counts(series.get('["eu"]')!))[0]).toEqual([10, S0, 2, 2]);
    expect((await counts(series.get('["ap"]')!))[0]).toEqual([10, S0, 1, 1]);
    // "sa" and "us" of the first write, "af" of the second.
    expect((await counts(series.get(OTHER_KEY)!))[0]).toEqual([10, S0, 3, 3]);
  });

  it('does not write cells past their retention: 10 s buckets beyond the fine retention, anything beyond the window’s', async () => {
    const w = new CounterWriter(10);
    const fine = NOW - 2 * DAY - 60_000; // older than the 10 s retention (no alert windows + 2 days)
    const gone = NOW - 4 * DAY - 60_000; // older than the window (1 day) + 3 days
    await write(
      w,
      fold('rts', [
        [fine, 1, 0],
        [gone, 1, 0],
      ]),
    );
    const overall = (await seriesOf('rts')).get(OVERALL)!;
    const rows = await counts(overall);
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      [60, fine],
      [3600, Math.floor(fine / HOUR) * HOUR],
      [86400, Math.floor(fine / DAY) * DAY],
    ]);
    expect(await ts.store.db.selectFrom('slo_slices').select('bucket').where('series_id', '=', overall).execute()).toEqual([{ bucket: fine }]);
  });

  it('rolls up time-slice verdicts as a slice changes: good exactly at the slice target, bad below it', async () => {
    const w = new CounterWriter(10);
    const hour = Math.floor(S0 / HOUR) * HOUR;
    const day = Math.floor(S0 / DAY) * DAY;
    await write(w, fold('ts', [[S0, 3, 0]]));
    const overall = (await seriesOf('ts')).get(OVERALL)!;
    expect(await rollups(overall)).toEqual([
      [3600, hour, 1, 1, 1],
      [86400, day, 1, 1, 1],
    ]);
    // 3 of 4 good: exactly the 0.75 slice target, still a good slice.
    await write(w, fold('ts', [[S0 + 30_000, 0, 1]]));
    expect(await rollups(overall)).toEqual([
      [3600, hour, 1, 1, 0.75],
      [86400, day, 1, 1, 0.75],
    ]);
    // 3 of 5: below it.
    await write(w, fold('ts', [[S0 + 50_000, 0, 1]]));
    expect(await rollups(overall)).toEqual([
      [3600, hour, 0, 1, 0.6],
      [86400, day, 0, 1, 0.6],
    ]);
    // A second slice.
    await write(w, fold('ts', [[S0 + 60_000, 1, 0]]));
    expect(await rollups(overall)).toEqual([
      [3600, hour, 1, 2, 1.6],
      [86400, day, 1, 2, 1.6],
    ]);
    expect(
      (await ts.store.db.selectFrom('slo_slices').selectAll().where('series_id', '=', overall).orderBy('bucket').execute()).map((r) => [Number(r.bucket), Number(r.good), Number(r.total)]),
    ).toEqual([
      [S0, 3, 5],
      [S0 + 60_000, 1, 1],
    ]);
  });

  it('rolls RatioTimeslices up by ratio only (no slice target: no good slices)', async () => {
    const w = new CounterWriter(10);
    await write(w, fold('rts', [[S0, 1, 1]]));
    const overall = (await seriesOf('rts')).get(OVERALL)!;
    const hourRow = (await rollups(overall)).find((r) => r[0] === 3600 && r[1] === Math.floor(S0 / HOUR) * HOUR)!;
    expect(hourRow.slice(2)).toEqual([0, 1, 0.5]);
  });

  it('skips generations it does not know, and streams without cells', async () => {
    const w = new CounterWriter(10);
    await write(w, fold('unknown', [[S0, 1, 0]]));
    await write(w, fold('ts', []));
    expect((await seriesOf('unknown')).size).toBe(0);
  });

  it('forgets series ids cached by a transaction that rolled back', async () => {
    const w = new CounterWriter(10);
    gens.fresh = { slo: slo('Occurrences'), kind: 'ratio' };
    w.begin();
    await expect(
      ts.store.db.transaction().execute(async (trx) => {
        await w.write(trx, info, fold('fresh', [[S0, 1, 0]], { eu: [[S0, 1, 0]] }), NOW);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await seriesOf('fresh')).size).toBe(0);
    await write(w, fold('fresh', [[S0, 1, 0]], { eu: [[S0, 1, 0]] }));
    const series = await seriesOf('fresh');
    expect(series.size).toBe(2);
    expect((await counts(series.get(OVERALL)!))[0]).toEqual([10, S0, 1, 1]);
    expect((await counts(series.get('["eu"]')!))[0]).toEqual([10, S0, 1, 1]);
  });

  it('writes cells exactly at the retention edges', async () => {
    const w = new CounterWriter(10);
    const fineEdge = NOW - 2 * DAY; // exactly the 10 s retention
    const keepEdge = NOW - 4 * DAY; // exactly the window's retention
    await write(
      w,
      fold('occ2', [
        [fineEdge, 1, 0],
        [keepEdge, 1, 0],
      ]),
    );
    const rows = await counts((await seriesOf('occ2')).get(OVERALL)!);
    expect(rows.filter((r) => r[0] === 10).map((r) => r[1])).toEqual([fineEdge]);
    expect(rows.filter((r) => r[0] === 60).map((r) => r[1])).toEqual([keepEdge, fineEdge]);
    // The same edge for slices.
    await write(w, fold('rts', [[keepEdge, 1, 0]]));
    const rts = (await seriesOf('rts')).get(OVERALL)!;
    expect((await ts.store.db.selectFrom('slo_slices').select('bucket').where('series_id', '=', rts).execute()).map((r) => Number(r.bucket))).toContain(keepEdge);
  });

  it('keeps occurrence SLOs out of the slice tables, and a generation without cells out of the series', async () => {
    const occ = (await seriesOf('occ')).get(OVERALL)!;
    expect(await ts.store.db.selectFrom('slo_slices').select('bucket').where('series_id', '=', occ).execute()).toEqual([]);
    expect(await rollups(occ)).toEqual([]);
    gens.empty = { slo: slo('Timeslices', 0.75), kind: 'ratio' };
    await write(new CounterWriter(10), fold('empty', []));
    expect((await seriesOf('empty')).size).toBe(0);
  });

  it('writes each objective of a threshold SLO from its own stream', async () => {
    await write(new CounterWriter(10), fold('thr', [[S0, 1, 1]], {}, [[S0, 2, 0]]));
    const rows = await ts.store.db.selectFrom('slo_series').selectAll().where('gen_uid', '=', 'thr').orderBy('objective').execute();
    expect(rows.map((r) => [Number(r.objective), r.breakdown])).toEqual([
      [0, OVERALL],
      [1, OVERALL],
    ]);
    expect((await counts(Number(rows[0]!.id)))[0]).toEqual([10, S0, 1, 2]);
    expect((await counts(Number(rows[1]!.id)))[0]).toEqual([10, S0, 2, 2]);
  });

  it('writes more rows than one statement takes (chunks of 1000), each once', async () => {
    const cells: [number, number, number][] = Array.from({ length: 900 }, (_, i) => [S0 - i * 10_000, 1, 0]);
    gens.many = { slo: slo('Occurrences'), kind: 'ratio' };
    await write(new CounterWriter(10), fold('many', cells));
    const rows = await counts((await seriesOf('many')).get(OVERALL)!);
    expect(rows.length).toBeGreaterThan(1000);
    for (const res of [10, 60, 3600, 86400])
      expect(
        rows.filter((r) => r[0] === res).reduce((sum, r) => sum + r[3]!, 0),
        `res ${res}`,
      ).toBe(900);
    // Slices over 1100 hours of a 90-day window: more than 1000 rollup rows.
    const hourly: [number, number, number][] = Array.from({ length: 1100 }, (_, i) => [S0 - i * HOUR, 1, 0]);
    await write(new CounterWriter(10), fold('long', hourly));
    const r = await rollups((await seriesOf('long')).get(OVERALL)!);
    expect(r.length).toBeGreaterThan(1000);
    for (const res of [3600, 86400])
      expect(
        r.filter((x) => x[0] === res).reduce((sum, x) => sum + x[3]!, 0),
        `res ${res}`,
      ).toBe(1100);
  });

  it('updates slice rollups from the slice’s counts before and after each write', async () => {
    gens.ts2 = { slo: slo('Timeslices', 0.75), kind: 'ratio' };
    const w = new CounterWriter(10);
    const hour = Math.floor(S0 / HOUR) * HOUR;
    // Two cells of one slice in one write: 2 of 3 good, below 0.75.
    await write(
      w,
      fold('ts2', [
        [S0, 1, 0],
        [S0 + 10_000, 1, 1],
      ]),
    );
    const overall = (await seriesOf('ts2')).get(OVERALL)!;
    const hourRow = async () => (await rollups(overall)).find((r) => r[0] === 3600 && r[1] === hour)!.slice(2);
    expect(await hourRow()).toEqual([0, 1, 2 / 3]);
    // Two more good ones: 4 of 5, now good.
    await write(w, fold('ts2', [[S0 + 20_000, 2, 0]]));
    expect(await hourRow()).toEqual([1, 1, 0.8]);
    // A slice of bad events only still counts as a slice.
    await write(w, fold('ts2', [[S0 + 60_000, 0, 2]]));
    expect(await hourRow()).toEqual([1, 2, 0.8]);
    // A write that changes no verdict or ratio leaves the rollups as they are.
    await write(w, fold('ts2', [[S0 + 60_000, 0, 1]]));
    expect(await hourRow()).toEqual([1, 2, 0.8]);
  });

  it('caps breakdown combinations per generation and objective, not across them', async () => {
    gens.capA = { slo: slo('Occurrences'), kind: 'ratio' };
    gens.capB = { slo: slo('Occurrences'), kind: 'ratio' };
    const w = new CounterWriter(2);
    await write(w, fold('capA', [[S0, 2, 0]], { eu: [[S0, 1, 0]], us: [[S0, 1, 0]] }));
    await write(w, fold('capB', [[S0, 2, 0]], { eu: [[S0, 1, 0]], us: [[S0, 1, 0]] }));
    expect([...(await seriesOf('capB')).keys()].sort()).toEqual([OVERALL, '["eu"]', '["us"]'].sort());
  });

  it('rolls slices up into hours and days only when the slice divides them', () => {
    expect(sliceRollupLevels(60_000)).toEqual([HOUR, DAY]);
    expect(sliceRollupLevels(HOUR)).toEqual([HOUR, DAY]);
    expect(sliceRollupLevels(7 * 60_000)).toEqual([]);
    expect(sliceRollupLevels(2 * HOUR)).toEqual([DAY]);
    expect(sliceRollupLevels(2 * DAY)).toEqual([]);
  });

  it('writes every objective of a ratio SLO from its one stream', async () => {
    gens.twoTargets = {
      slo: {
        ...slo('Occurrences'),
        breakdown: [],
        objectives: [
          { name: 'a', target: 0.9 },
          { name: 'b', target: 0.99 },
        ],
      },
      kind: 'ratio',
    };
    await write(new CounterWriter(10), fold('twoTargets', [[S0, 3, 1]]));
    const rows = await ts.store.db.selectFrom('slo_series').selectAll().where('gen_uid', '=', 'twoTargets').orderBy('objective').execute();
    expect(rows.map((r) => [Number(r.objective), r.breakdown])).toEqual([
      [0, OVERALL],
      [1, OVERALL],
    ]);
    expect((await counts(Number(rows[0]!.id)))[0]).toEqual([10, S0, 3, 4]);
    expect((await counts(Number(rows[1]!.id)))[0]).toEqual([10, S0, 3, 4]);
  });

  it('keeps an occurrence SLO out of the slice tables even when its objective names a slice window', async () => {
    gens.occSliced = { slo: { ...slo('Occurrences'), breakdown: [], objectives: [{ name: 'o', target: 0.5, timeSliceMs: 60_000, timeSliceTarget: 0.5 }] }, kind: 'ratio' };
    await write(new CounterWriter(10), fold('occSliced', [[S0, 1, 1]]));
    const overall = (await seriesOf('occSliced')).get(OVERALL)!;
    expect((await counts(overall))[0]).toEqual([10, S0, 1, 2]);
    expect(await ts.store.db.selectFrom('slo_slices').select('bucket').where('series_id', '=', overall).execute()).toEqual([]);
    expect(await rollups(overall)).toEqual([]);
  });

  it('writes each attribute’s marginals (its value whatever the others are) when there are two attributes', async () => {
    gens.twoAttrs = { slo: { ...slo('Occurrences'), breakdown: [['region'], ['tier']] }, kind: 'ratio' };
    await write(new CounterWriter(10), fold('twoAttrs', [[S0, 3, 1]], { 'eu|web': [[S0, 1, 0]], 'eu|api': [[S0, 1, 1]], 'us|web': [[S0, 1, 0]] }));
    const series = await seriesOf('twoAttrs');
    const tenSeconds = async (key: string) => (await counts(series.get(key)!))[0];
    expect([...series.keys()].sort()).toEqual([OVERALL, '["eu","api"]', '["eu","web"]', '["us","web"]', '{"a":0,"v":"eu"}', '{"a":0,"v":"us"}', '{"a":1,"v":"api"}', '{"a":1,"v":"web"}'].sort());
    expect(await tenSeconds('{"a":0,"v":"eu"}')).toEqual([10, S0, 2, 3]);
    expect(await tenSeconds('{"a":0,"v":"us"}')).toEqual([10, S0, 1, 1]);
    expect(await tenSeconds('{"a":1,"v":"web"}')).toEqual([10, S0, 2, 2]);
    expect(await tenSeconds('{"a":1,"v":"api"}')).toEqual([10, S0, 1, 2]);
    expect(await tenSeconds('["eu","api"]')).toEqual([10, S0, 1, 2]);
  });

  it('finds the series it has not cached yet: a new combination of a cached generation, a new generation beside a cached one', async () => {
    gens.cachedA = { slo: slo('Occurrences'), kind: 'ratio' };
    gens.cachedB = { slo: slo('Occurrences'), kind: 'ratio' };
    const w = new CounterWriter(10);
    await write(w, fold('cachedA', [[S0, 1, 0]], { eu: [[S0, 1, 0]] }));
    await write(w, fold('cachedA', [[S0, 2, 0]], { eu: [[S0, 1, 0]], us: [[S0, 1, 0]] }));
    await write(w, new Map([...fold('cachedA', [[S0, 1, 0]]), ...fold('cachedB', [[S0, 0, 2]])]));
    const a = await seriesOf('cachedA');
    expect([...a.keys()].sort()).toEqual([OVERALL, '["eu"]', '["us"]'].sort());
    expect((await counts(a.get('["us"]')!))[0]).toEqual([10, S0, 1, 1]);
    expect((await counts(a.get(OVERALL)!))[0]).toEqual([10, S0, 4, 4]);
    expect((await counts((await seriesOf('cachedB')).get(OVERALL)!))[0]).toEqual([10, S0, 0, 2]);
  });

  it('admits a new combination while under the cap when other writers made the earlier ones', async () => {
    gens.capC = { slo: slo('Occurrences'), kind: 'ratio' };
    await write(new CounterWriter(3), fold('capC', [[S0, 2, 0]], { eu: [[S0, 1, 0]], us: [[S0, 1, 0]] }));
    await write(new CounterWriter(3), fold('capC', [[S0, 1, 0]], { ap: [[S0, 1, 0]] }));
    await write(new CounterWriter(3), fold('capC', [[S0, 1, 0]], { sa: [[S0, 1, 0]] }));
    expect([...(await seriesOf('capC')).keys()].sort()).toEqual([OVERALL, '["ap"]', '["eu"]', '["us"]', OTHER_KEY].sort());
  });

  it('creates the series of one write in key order (the order concurrent writers lock them in)', async () => {
    gens.zeta = { slo: slo('Occurrences'), kind: 'ratio' };
    gens.alpha = { slo: slo('Occurrences'), kind: 'ratio' };
    await write(new CounterWriter(10), new Map([...fold('zeta', [[S0, 2, 0]], { us: [[S0, 1, 0]], eu: [[S0, 1, 0]] }), ...fold('alpha', [[S0, 1, 0]], { eu: [[S0, 1, 0]] })]));
    const rows = await ts.store.db.selectFrom('slo_series').select(['gen_uid', 'breakdown']).where('gen_uid', 'in', ['zeta', 'alpha']).orderBy('id').execute();
    expect(rows.map((r) => `${r.gen_uid} ${r.breakdown}`)).toEqual(['alpha ', 'alpha ["eu"]', 'zeta ', 'zeta ["eu"]', 'zeta ["us"]']);
  });

  it('creates exactly one chunk (1000) of new series in one write', async () => {
    gens.wide = { slo: slo('Occurrences'), kind: 'ratio' };
    const combos = Object.fromEntries(Array.from({ length: 999 }, (_, i): [string, [number, number, number][]] => [`r${i}`, [[S0, 1, 0]]]));
    await write(new CounterWriter(5_000), fold('wide', [[S0, 999, 0]], combos));
    const series = await seriesOf('wide');
    expect(series.size).toBe(1000);
    expect((await counts(series.get('["r998"]')!))[0]).toEqual([10, S0, 1, 1]);
  });
});
