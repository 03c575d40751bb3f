/**
 * The fold's predicate index and shared expressions must give exactly the counters of the
 * reference fold (every generation against every event). Random SLO sets over a small vocabulary
 * (so filters often share attributes, values and whole expressions) and random events, both
 * folds, every cell and combination compared; with `include` subsets as the aggregator and the
 * backfill use them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributeSlots } from '../../src/cel/attribute-slots.js';
import { equalityPredicates } from '../../src/cel/predicates.js';
import type { LogBatch } from '../../src/log/event-log.js';
import { compileTenantPlan } from '../../src/slo/compiled.js';
import { buildFoldIndex } from '../../src/slo/fold-index.js';
import { foldBatch, foldBatches, FoldResult, type Include } from '../../src/slo/fold.js';
import type { ResolvedSlo } from '../../src/slo/model.js';

const SERVICES = ['checkout', 'search', 'cart', 'auth'];
const ROUTES = ['/a', '/b', '/c'];
const REGIONS = ['eu', 'us', 'ap'];

const atom = fc.oneof(
  fc.constantFrom(...SERVICES).map((s) => `service == "${s}"`),
  fc.constantFrom(...SERVICES).map((s) => `"${s}" == service`),
  fc.constantFrom(...ROUTES).map((r) => `route == "${r}"`),
  fc.subarray(REGIONS, { minLength: 1 }).map((rs) => `region in [${rs.map((r) => `"${r}"`).join(', ')}]`),
  fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...ROUTES)).map(([a, b]) => `(route == "${a}" || route == "${b}")`),
  fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom(...REGIONS)).map(([a, b]) => `(route == "${a}" || region == "${b}")`),
  fc.constantFrom('status >= 100', 'status < 500', 'method == "GET"', 'code == 7', 'flag == true', 'nested.tier == "gold"', 'service != "cart"', 'route.startsWith("/a")'),
);
const filter = fc.array(atom, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(' && '));
const good = fc.constantFrom('status < 500', 'status != 503', 'latency < 300', 'status < 500 && latency < 1000');

const slo: fc.Arbitrary<ResolvedSlo> = fc
  .record({
    threshold: fc.boolean(),
    filter,
    noFilter: fc.boolean(),
    good,
    useBad: fc.boolean(),
    limits: fc.array(fc.integer({ min: 10, max: 900 }), { minLength: 1, maxLength: 2 }),
    breakdown: fc.constantFrom([], [['region']], [['route'], ['region']]),
  })
  .map((r) => ({
    name: 'x',
    service: 'shop',
    indicator: r.threshold
      ? { kind: 'threshold' as const, name: 'sli', value: 'latency', ...(r.noFilter ? {} : { filter: r.filter }) }
      : { kind: 'ratio' as const, name: 'sli', total: r.filter, ...(r.useBad ? { bad: `!(${r.good})` } : { good: r.good }) },
    window: { kind: 'rolling', ms: 86_400_000 } as unknown as ResolvedSlo['window'],
    method: 'Occurrences' as const,
    objectives: r.limits.map((v, i) => ({ name: `o${i}`, target: 0.99, op: 'lte' as const, value: v })),
    breakdown: r.breakdown.map((p) => [...p]),
    policies: [],
  }));

const event = fc.record(
  {
    ts: fc.integer({ min: 1_000_000, max: 1_060_000 }),
    service: fc.constantFrom(...SERVICES, 42, null),
    route: fc.constantFrom(...ROUTES, '/d'),
    region: fc.constantFrom(...REGIONS, 'sa'),
    method: fc.constantFrom('GET', 'POST'),
    status: fc.constantFrom(200, 404, 500, 503),
    latency: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant('slow')),
    code: fc.constantFrom(7, 7.0, 8),
    flag: fc.boolean(),
    nested: fc.oneof(fc.record({ tier: fc.constantFrom('gold', 'free') }), fc.constant('flat')),
  },
  { requiredKeys: ['ts'] },
);

function batchOf(events: object[], position: number): LogBatch {
  const data = Buffer.from(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  return { partition: position % 2, position, tenant: 't', receivedAt: 1_000_000, count: events.length, minTs: 0, maxTs: 0, data };
}

/**
 * A plain object of every counter, so a difference shows where it is: per generation the events
 * its fold scanned and, if it counted any, its cells (null: the fold made no delta for it).
 */
function counters(out: FoldResult, uids: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const uid of uids) {
    const d = out.get(uid);
    o[uid] = {
      events: out.eventsOf(uid),
      streams:
        d?.streams.map((s) => ({
          all: Object.fromEntries([...s.all.cells].sort(([a], [b]) => a - b)),
          combos: Object.fromEntries(s.combos.map((c) => [c.values.join('|'), Object.fromEntries([...c.cells.cells].sort(([a], [b]) => a - b))])),
        })) ?? null,
    };
  }
  return o;
}

describe('the fold predicate index', () => {
  it('counts exactly what the reference fold counts, for random SLO sets, events and include subsets', () => {
    fc.assert(
      fc.property(
        fc.array(slo, { minLength: 1, maxLength: 40 }),
        fc.array(fc.array(event, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.boolean(), { maxLength: 4 }),
        (slos, batches, skip, readAfter) => {
          const gens = slos.map((s, i) => ({ uid: `g${i}`, slo: s }));
          const indexed = compileTenantPlan('t', gens);
          const naive = compileTenantPlan('t', gens, { index: false });
          expect(indexed.index).not.toBeNull();
          expect(naive.index).toBeNull();
          const a = new FoldResult();
          const b = new FoldResult();
          // Like the aggregator and the backfill: some generations do not count some batches
          // (skip 0: every generation counts every batch, as the aggregator's steady state says).
          const include = (position: number): Include => (skip === 0 ? 'all' : (g) => (Number(g.uid.slice(1)) + position) % (skip + 1) !== 0);
          const uids = gens.map((g) => g.uid);
          batches.forEach((events, k) => {
            const batch = batchOf(events, k + 1);
            foldBatch(indexed, batch, include(k + 1), a);
            foldBatch(naive, batch, include(k + 1), b);
            // Reading a result moves the indexed fold's counters into its deltas; folding on after
            // that must add to them.
            if (readAfter[k] === true) expect(counters(a, uids)).toEqual(counters(b, uids));
          });
          expect(counters(a, uids)).toEqual(counters(b, uids));
          // The batches as one run, as the aggregator folds them: events counted grouped.
          const c = new FoldResult();
          foldBatches(
            indexed,
            batches.map((events, k) => ({ batch: batchOf(events, k + 1), include: include(k + 1) })),
            c,
          );
          expect(counters(c, uids)).toEqual(counters(b, uids));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('files each SLO under its most selective equality and tests the rest against every event', () => {
    const slots = new AttributeSlots();
    const index = buildFoldIndex(
      ['service == "checkout" && region in ["eu", "us"]', 'service == "search"', 'region == "eu"', 'status >= 500', undefined, '(route == "/a" || route == "/b") && latency > 3'],
      slots,
    );
    // service has 2 distinct values in these filters, region 2, route 2: ties go to the predicate with fewer values.
    const byPath = Object.fromEntries(index.lookups.map((l) => [slots.paths[l.slot]!.join('.'), Object.fromEntries(l.byValue)]));
    expect(byPath).toEqual({
      service: { checkout: [0], search: [1] },
      region: { eu: [2] },
      route: { '/a': [5], '/b': [5] },
    });
    expect(index.always).toEqual([3, 4]);
  });

  it('finds equalities only where the expression cannot be true without them', () => {
    expect(equalityPredicates('service == "a" && (region == "eu" || route == "/x")')).toEqual([{ path: ['service'], values: ['a'] }]);
    expect(equalityPredicates('service == "a" || service == "b"')).toEqual([{ path: ['service'], values: ['a', 'b'] }]);
    expect(equalityPredicates('!(service == "a")')).toEqual([]);
    expect(equalityPredicates('service != "a"')).toEqual([]);
    expect(equalityPredicates('http["status-code"] == 200 && a.b in {"x": 1, "y": 2}')).toEqual([
      { path: ['http', 'status-code'], values: [200] },
      { path: ['a', 'b'], values: ['x', 'y'] },
    ]);
    expect(equalityPredicates('code == -3 && flag == false && v == null')).toEqual([
      { path: ['code'], values: [-3] },
      { path: ['flag'], values: [false] },
      { path: ['v'], values: [null] },
    ]);
    expect(equalityPredicates('a == b')).toEqual([]);
    expect(equalityPredicates('service == "a" ? true : false')).toEqual([]);
  });

  it('evaluates a filter several SLOs share once per event', () => {
    const base = { name: 'x', service: 'shop', window: { kind: 'rolling', ms: 1 } as unknown as ResolvedSlo['window'], method: 'Occurrences' as const, breakdown: [], policies: [] };
    const gens = [300, 500, 800].map((limit, i) => ({
      uid: `g${i}`,
      slo: {
        ...base,
        indicator: { kind: 'threshold' as const, name: 's', value: 'latency', filter: 'service == "checkout"' },
        objectives: [{ name: 'o', target: 0.9, op: 'lte' as const, value: limit }],
      },
    }));
    const plan = compileTenantPlan('t', gens);
    expect(plan.expressions).toHaveLength(2); // the filter and the value, once each
    let calls = 0;
    const filter = plan.expressions[plan.gens[0]!.filterId]!;
    plan.expressions[plan.gens[0]!.filterId] = (r) => {
      calls++;
      return filter(r);
    };
    const out = new FoldResult();
    foldBatch(
      plan,
      batchOf(
        [
          { ts: 1_000_000, service: 'checkout', latency: 400 },
          { ts: 1_000_001, service: 'checkout', latency: 900 },
          { ts: 1_000_002, service: 'search', latency: 1 },
        ],
        1,
      ),
      'all',
      out,
    );
    expect(calls).toBe(2); // two checkout events, one call each for three SLOs; the search event skipped by the index
    const totals = [...out.values()].map((d) => [...d.streams[0]!.all.cells.values()].reduce((s, c) => [s[0]! + c.good, s[1]! + c.total], [0, 0]));
    expect(totals).toEqual([
      [0, 2],
      [1, 2],
      [1, 2],
    ]);
  });
});
