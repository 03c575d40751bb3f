/** `keel bench capacity`: the capacity report's forecast time for N limits of H points, beside its ceilings. */
import type { Command } from 'commander';
import { positiveInt, positiveNumber, UsageError } from '../args.js';

export function registerCapacityBench(bench: Command): void {
  bench
    .command('capacity')
    .description(
      'Forecast time of the capacity report for N limits with H points of history each, beside a bare least-squares pass over the same points and the sample interval it must fit in (--json: one JSON object)',
    )
    .option('--limits <n>', 'tracked limits (1-100000)', positiveInt, 1000)
    .option('--points <n>', "points of history per limit (3-100000; 28 days of the sampler's history is ~2,800: 8 days of 5-minute samples, then hourly peaks)", positiveInt, 2800)
    .option('--interval <s>', 'seconds: the sample interval the whole report must fit in (capacity.sampleInterval)', positiveNumber, 300)
    .action(async (opts: { limits: number; points: number; interval: number }, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      if (opts.limits > 100_000) throw new UsageError(`--limits must be 1 to 100000, got ${opts.limits}`);
      if (opts.points < 3 || opts.points > 100_000) throw new UsageError(`--points must be 3 to 100000, got ${opts.points}`);
      const { benchCapacity } = await import('../../bench/capacity-bench.js');
      const r = benchCapacity({ limits: opts.limits, points: opts.points, stepMs: 300_000, intervalMs: opts.interval * 1000, log: (line) => process.stderr.write(`${line}\n`) });
      if (json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `capacity report (${n(r.limits)} limits × ${n(r.points)} points): ${n(r.report_ms)} ms; per limit p50 ${r.per_limit_p50_ms} ms, p99 ${r.per_limit_p99_ms} ms`,
          `ceiling (bare least squares, same points): ${n(r.ceiling_least_squares_ms)} ms (report/ceiling ${r.report_vs_least_squares})`,
          `budget (the sample interval):              ${n(r.sample_interval_ms)} ms (report/interval ${r.report_vs_interval})`,
          `models chosen: ${Object.entries(r.models)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}; exhaustion: ${Object.entries(r.statuses)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
          '',
        ].join('\n'),
      );
    });
}
