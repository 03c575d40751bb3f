#!/usr/bin/env node
/**
 * Paired A/B of the SLO fold of two builds in one process (the fleet shape, as `keel bench slo
 * --no-freshness --shape fleet` folds it), alternating 1-second slices of each and counting
 * events per second of this process's CPU time: on a shared machine that compares two builds far
 * more steadily than two bench runs minutes apart. A build is a `dist/` directory
 * (`npm run build`; for another commit: `git worktree add /tmp/keel-main main`, link
 * node_modules there, `npm run build` in it). Builds from before `foldBatches` (issue 18) are
 * folded batch by batch into a Map, as their bench did.
 *
 *   node scripts/compare-slo-fold.mjs <distA> <distB> [--slos 10000] [--rounds 12]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const [distA, distB] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!distA || !distB) {
  process.stderr.write('usage: compare-slo-fold.mjs <distA> <distB> [--slos n] [--rounds n]\n');
  process.exit(2);
}
const SLOS = Number(opt('slos', '10000'));
const ROUNDS = Number(opt('rounds', '12'));
const now = Date.now();

async function setup(dist) {
  const at = (file) => import(pathToFileURL(resolve(dist, file)).href);
  const { benchSlos } = await at('bench/slo-bench.js');
  const { fleetBodies } = await at('bench/events.js');
  const { compileTenantPlan } = await at('slo/compiled.js');
  const fold = await at('slo/fold.js');
  const batches = fleetBodies(Math.ceil(SLOS / 10), 64, 1000).map((data, i) => ({ partition: 0, position: i + 1, tenant: 'bench', receivedAt: now, count: 1000, minTs: now - 5000, maxTs: now, data }));
  const plan = compileTenantPlan(
    'bench',
    benchSlos(SLOS, 'fleet').map((slo, i) => ({ uid: `bench-${i}`, slo })),
  );
  /** One transaction: 64 batches into one result, read at the end (as the aggregator and the bench). */
  const transaction = fold.foldBatches
    ? () => {
        const out = new fold.FoldResult();
        for (let t = 0; t < 64; t += 20)
          fold.foldBatches(
            plan,
            batches.slice(t, t + 20).map((batch) => ({ batch, include: 'all' })),
            out,
          );
        out.values();
      }
    : () => {
        const out = new Map();
        for (const b of batches) fold.foldBatch(plan, b, () => true, out);
      };
  return (seconds) => {
    const cpu0 = process.cpuUsage();
    let events = 0;
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() - start < BigInt(Math.round(seconds * 1e9))) {
      transaction();
      events += 64_000;
    }
    const used = process.cpuUsage(cpu0);
    return events / ((used.user + used.system) / 1e6);
  };
}

const a = await setup(distA);
const b = await setup(distB);
a(1);
b(1);
const ratios = [];
let sumA = 0;
let sumB = 0;
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which build goes first, so drifting load weighs on both alike.
  let ra;
  let rb;
  if (r % 2 === 0) {
    ra = a(1);
    rb = b(1);
  } else {
    rb = b(1);
    ra = a(1);
  }
  ratios.push(rb / ra);
  sumA += ra;
  sumB += rb;
}
ratios.sort((x, y) => x - y);
const n = (v) => Math.round(v).toLocaleString('en-US');
process.stdout.write(
  `${SLOS} fleet SLOs, events per CPU-second: A ${n(sumA / ROUNDS)}, B ${n(sumB / ROUNDS)}; B/A median ${ratios[ROUNDS >> 1].toFixed(2)} (range ${ratios[0].toFixed(2)}–${ratios[ROUNDS - 1].toFixed(2)}, ${ROUNDS} rounds)\n`,
);
