/** `keel bench`: benchmarks of the hot paths, each printed beside the machine's ceiling. */
import type { Command } from 'commander';
import { benchIngest } from '../../bench/ingest-bench.js';
import { benchSlo } from '../../bench/slo-bench.js';

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Measure Keel on this machine (not a test: prints figures)');

  bench
    .command('ingest')
    .description('Durable ingest over HTTP: events/s and ack latency vs one core of bare JSON.parse')
    .option('--duration <s>', 'seconds to measure', (v) => Number(v), 10)
    .option('--warmup <s>', 'seconds of load before measuring', (v) => Number(v), 2)
    .option('--connections <n>', 'concurrent HTTP connections', (v) => Number(v), 8)
    .option('--batch <n>', 'events per request', (v) => Number(v), 1000)
    .option('--parse-threads <n>', 'parse threads in the server (default: its own default)', (v) => Number(v))
    .option('--json', 'print one JSON object')
    .action(async (opts: { duration: number; warmup: number; connections: number; batch: number; parseThreads?: number; json?: boolean }) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const r = await benchIngest({
        durationS: opts.duration,
        warmupS: opts.warmup,
        connections: opts.connections,
        batch: opts.batch,
        json: Boolean(opts.json),
        log,
        ...(opts.parseThreads !== undefined ? { parseThreads: opts.parseThreads } : {}),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `durable ingest:   ${n(r.events_per_s)} events/s  (${r.mb_per_s} MB/s, ${r.requests_per_s} requests/s of ${r.batch} events)`,
          `ack latency:      p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`,
          `ceiling:          ${n(r.ceiling_events_per_s)} events/s (one core, bare JSON.parse of the same NDJSON)`,
          `ratio:            ${r.ratio}`,
          `failed requests:  ${r.failures} ${JSON.stringify(r.statuses)}`,
          `check:            ${n(r.acknowledged_events)} acknowledged in the window, ${n(r.stored_events)} stored in total (warm-up included)`,
          '',
        ].join('\n'),
      );
    });

  bench
    .command('slo')
    .description('SLO aggregation events/s on one core vs bare JSON.parse, and freshness (202 to counted) under ingest load')
    .option('--slos <n>', 'SLOs with realistic CEL filters', (v) => Number(v), 10)
    .option('--seconds <s>', 'seconds per throughput measurement', (v) => Number(v), 3)
    .option('--rate <events/s>', 'ingest rate offered during the freshness measurement', (v) => Number(v), 174_000)
    .option('--duration <s>', 'seconds of the freshness measurement', (v) => Number(v), 20)
    .option('--connections <n>', 'HTTP connections of the load generator', (v) => Number(v), 8)
    .option('--no-freshness', 'measure throughput only (no Keel process)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { slos: number; seconds: number; rate: number; duration: number; connections: number; freshness: boolean }, cmd: Command) => {
      // --json is also a global option: read it with the globals so both positions work.
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      if (!Number.isInteger(opts.slos) || opts.slos < 1 || opts.slos > 1000) throw new Error('--slos must be 1 to 1000');
      const r = await benchSlo({
        slos: opts.slos,
        seconds: opts.seconds,
        rate: opts.rate,
        freshnessS: opts.duration,
        connections: opts.connections,
        skipFreshness: !opts.freshness,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      const lines = [
        `SLO aggregation (${r.slos} SLOs, one core): ${n(r.fold_events_per_s)} events/s`,
        `ceiling (bare JSON.parse, same events):   ${n(r.ceiling_json_parse_events_per_s)} events/s (fold/ceiling ${r.fold_vs_ceiling})`,
        `JSON.parse + compiled CEL:                ${n(r.json_parse_compiled_events_per_s)} events/s`,
        `JSON.parse + cel-js evaluator:            ${n(r.json_parse_library_cel_events_per_s)} events/s (compiled is ${r.compiled_vs_library}x faster)`,
        `CEL evaluations alone:                    compiled ${n(r.cel_compiled_evaluations_per_s)}/s, cel-js ${n(r.cel_library_evaluations_per_s)}/s (${r.cel_compiled_vs_library}x)`,
      ];
      if (r.freshness) {
        const f = r.freshness;
        lines.push(
          `freshness (202 to counted):               p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, max ${f.max_ms} ms over ${f.probes} probes`,
          `ingest during it:                         ${n(f.achieved_events_per_s)} events/s achieved of ${n(f.target_events_per_s)} offered (${f.failed_requests} failed requests)`,
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
