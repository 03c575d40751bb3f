#!/usr/bin/env node
/**
 * What bounds the SLO fold at many SLOs (npm run build first). The fold of `keel bench slo
 * --no-freshness --shape fleet` (byte scanner + predicate index + compiled CEL + bucket counting,
 * in this process), with a V8 CPU profile of the measured part only:
 *   1. events over all n/10 services (the bench's events), profiled: top self-time functions and
 *      the garbage collector's share;
 *   2. the same plan, events over only `--hot` services: each event matches as many SLOs as in 1,
 *      but the counters and filters it touches fit in the CPU caches. If 2 is much faster than 1,
 *      the fold is bound by memory access (cold state per event), not by the work per event.
 *
 *   node scripts/profile-slo-fold.mjs [--slos 10000] [--seconds 5] [--hot 10] [--profile /tmp/fold.cpuprofile] [--json]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { benchSlos } from '../dist/bench/slo-bench.js';
import { fleetBodies, jsonParseCeiling } from '../dist/bench/events.js';
import { compileTenantPlan } from '../dist/slo/compiled.js';
import { summarize } from './cpuprofile-summary.mjs';
import { FOLD_RUN_EVENTS, foldBatches, FoldResult } from '../dist/slo/fold.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SLOS = Number(opt('slos', '10000'));
const SECONDS = Number(opt('seconds', '5'));
const HOT = Number(opt('hot', '10'));
const PROFILE = opt('profile', undefined);
const json = args.includes('--json');
const log = (s) => process.stderr.write(`${s}\n`);

const now = Date.now();
const batchesOf = (bodies) => bodies.map((data, i) => ({ partition: 0, position: i + 1, tenant: 'bench', receivedAt: now, count: 1000, minTs: now - 5000, maxTs: now, data }));
const services = Math.ceil(SLOS / 10);
const allBodies = fleetBodies(services, 64, 1000);
const all = batchesOf(allBodies);
const hot = batchesOf(fleetBodies(HOT, 64, 1000));
const plan = compileTenantPlan(
  'bench',
  benchSlos(SLOS, 'fleet').map((slo, i) => ({ uid: `bench-${i}`, slo })),
);

/** The bench's fold loop (a fresh result every 64 batches, as the aggregator's transactions). */
function foldRate(batches, seconds) {
  let out = new FoldResult();
  let events = 0;
  let i = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    if (i % 64 === 0) {
      out.values(); // what the writer reads: the fold's counters settle into deltas
      out = new FoldResult();
    }
    // As the aggregator: runs of up to FOLD_RUN_EVENTS events (20 batches of 1,000) per foldBatches.
    const run = Math.min(FOLD_RUN_EVENTS / 1000, 64 - (i % 64));
    const items = [];
    for (let k = 0; k < run; k++) {
      const b = batches[i++ % batches.length];
      items.push({ batch: b, include: 'all' });
      events += b.count;
    }
    foldBatches(plan, items, out);
  }
  return events / (Number(process.hrtime.bigint() - start) / 1e9);
}

const ceiling = jsonParseCeiling(allBodies, Math.min(2, SECONDS));
foldRate(all, 1);
foldRate(hot, 1);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.start');
const allRate = foldRate(all, SECONDS);
const { profile } = await session.post('Profiler.stop');
session.disconnect();
const hotRate = foldRate(hot, SECONDS);
if (PROFILE) writeFileSync(PROFILE, JSON.stringify(profile));

const summary = summarize(profile);
const total = summary.samples;
const top = summary.top_self;
const gc = summary.gc_pct;
const out = {
  slos: SLOS,
  ceiling_json_parse_events_per_s: Math.round(ceiling),
  fold_events_per_s: Math.round(allRate),
  fold_vs_ceiling: Math.round((allRate / ceiling) * 100) / 100,
  fold_hot_events_per_s: Math.round(hotRate),
  hot_services: HOT,
  hot_vs_all: Math.round((hotRate / allRate) * 10) / 10,
  gc_pct: gc,
  heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  samples: total,
  top_self: top,
};
if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
else {
  const n = (v) => v.toLocaleString('en-US');
  log(`fold, ${SLOS} fleet SLOs, events over ${services} services: ${n(out.fold_events_per_s)} events/s; ceiling (bare JSON.parse) ${n(out.ceiling_json_parse_events_per_s)} (${out.fold_vs_ceiling})`);
  log(`same plan, events over ${HOT} services only:          ${n(out.fold_hot_events_per_s)} events/s (${out.hot_vs_all}x)`);
  log(`garbage collector: ${out.gc_pct} % of the profiled fold; heap used ${out.heap_used_mb} MB; ${n(total)} samples`);
  log('top self time:');
  for (const t of top) log(`  ${String(t.self_pct).padStart(5)} %  ${t.fn}`);
}
