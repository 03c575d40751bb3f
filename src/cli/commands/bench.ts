/** `keel bench`: benchmarks of the hot paths, each printed beside the machine's ceiling. */
import type { Command } from 'commander';
import type { DistributedBenchResult, RunFigures } from '../../bench/distributed-bench.js';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, UsageError } from '../args.js';
import { availableParallelism, loadavg } from 'node:os';
import { registerHistoryBench, registerPagingBench } from './bench-paging.js';
import { recordBench } from './bench-record.js';
import { distributedServices, modeOptions } from './bench-mode.js';
import { registerCapacityBench } from './bench-capacity.js';

interface IngestOpts {
  duration: number;
  warmup: number;
  connections?: number;
  batch: number;
  parseThreads?: number;
  compactionWait: number;
  rate?: number;
  mode: string;
  nats?: string;
  postgres?: string;
  ingest: number;
  workers: number;
  partitions: number;
  scaling?: boolean;
  tenants?: number;
  record?: boolean;
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Measure Keel on this machine (not a test: prints figures)');
  registerPagingBench(bench);
  registerHistoryBench(bench);
  registerSloEvalBench(bench);
  registerCapacityBench(bench);

  bench
    .command('ingest')
    .description('Durable ingest over HTTP: events/s and ack latency beside the ceiling measured in the same run (--json: one JSON object)')
    .option('--mode <mode>', 'embedded (one process, SQLite; ceiling: one core of JSON.parse) or distributed (roles on NATS + PostgreSQL; ceiling: raw JetStream publish)', 'embedded')
    .option('--duration <s>', 'seconds to measure', positiveNumber, 10)
    .option('--warmup <s>', 'seconds of load before measuring', nonNegativeNumber, 2)
    .option('--connections <n>', 'concurrent HTTP connections (default 8 embedded, 16 distributed)', positiveInt)
    .option('--batch <n>', 'events per request', positiveInt, 1000)
    .option('--rate <events/s>', 'embedded: offer a fixed load and measure latency at it (default: as fast as acknowledged)', positiveNumber)
    .option(
      '--tenants <n>',
      'embedded: also measure the same load spread over n tenants (1-10000), each with its own key and quota, beside the single-tenant figure (three alternating rounds of each, --duration each)',
      positiveInt,
    )
    .option('--parse-threads <n>', 'parse threads in the server (embedded; default: its own default)', nonNegativeInt)
    .option('--compaction-wait <s>', 'embedded: after the load, wait up to this long for compaction to catch up before measuring bytes per event on disk', nonNegativeNumber, 300)
    .option('--nats <urls>', 'distributed: NATS JetStream server(s) (env KEEL_NATS_URL)')
    .option('--postgres <url>', 'distributed: PostgreSQL URL (env KEEL_POSTGRES_URL)')
    .option('--ingest <n>', 'distributed: ingest processes', positiveInt, 2)
    .option('--workers <n>', 'distributed: worker processes', positiveInt, 1)
    .option('--partitions <n>', 'distributed: event log partitions', positiveInt, 8)
    .option('--scaling', 'distributed: also run with 1, 2 and 4 ingest processes')
    .option(
      '--record',
      "after printing, send the measured figure to the Keel at --url / KEEL_URL (a system admin key): it becomes that Keel's node ingest capacity (keel capacity report, keel capacity plan)",
    )
    .addHelpText('after', '\nThe distributed bench creates its own stream and schema (random names) and removes them afterwards.')
    .action(async (opts: IngestOpts, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
      if (opts.mode === 'distributed') return distributed(opts, json, log, opts.record ? cmd : undefined);
      if (opts.mode !== 'embedded') throw new UsageError(`--mode must be embedded or distributed, got "${opts.mode}"`);
      if (opts.tenants !== undefined && opts.tenants > 10_000) throw new UsageError(`--tenants must be 1 to 10000, got ${opts.tenants}`);
      const { benchIngest } = await import('../../bench/ingest-bench.js');
      const r = await benchIngest({
        durationS: opts.duration,
        warmupS: opts.warmup,
        connections: opts.connections ?? 8,
        batch: opts.batch,
        json,
        log,
        ...(opts.parseThreads !== undefined ? { parseThreads: opts.parseThreads } : {}),
        ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
        ...(opts.tenants !== undefined ? { tenants: opts.tenants } : {}),
        compactionWaitS: opts.compactionWait,
      });
      // Recorded after printing: a refused or unreachable --record must not lose the figures.
      const record = async () => {
        if (opts.record) await recordBench(cmd, { mode: 'embedded', eventsPerSecond: r.events_per_s, ceilingEventsPerSecond: r.ceiling_events_per_s, cores: availableParallelism(), loadAverage }, log);
      };
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return record();
      }
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `durable ingest:   ${n(r.events_per_s)} events/s  (${r.mb_per_s} MB/s, ${r.requests_per_s} requests/s of ${r.batch} events)${r.offered_events_per_s ? `, offered ${n(r.offered_events_per_s)}/s` : ''}`,
          `ack latency:      p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`,
          `ceiling:          ${n(r.ceiling_events_per_s)} events/s (one core, bare JSON.parse of the same NDJSON)`,
          `ratio:            ${r.ratio}`,
          `failed requests:  ${r.failures} ${JSON.stringify(r.statuses)}`,
          ...(r.many_tenants
            ? [
                `${n(r.many_tenants.tenants)} tenants:`.padEnd(18) +
                  `${n(r.many_tenants.events_per_s)} events/s (p50 ${r.many_tenants.p50_ms} ms, p99 ${r.many_tenants.p99_ms} ms), ${r.many_tenants.ratio_to_single_tenant} of the single-tenant figure above, ${r.many_tenants.ratio_to_ceiling} of the ceiling`,
                `                  ${r.many_tenants.failures} failed ${JSON.stringify(r.many_tenants.statuses)}; ${r.many_tenants.rounds} rounds alternating with the single tenant; tenants and keys created in ${r.many_tenants.setup_s} s`,
              ]
            : []),
          `check:            ${n(r.acknowledged_events)} acknowledged in the window${r.many_tenants ? 's' : ''}, ${n(r.stored_events)} stored in total (warm-up included)`,
          `disk:             ${r.log_disk.disk_bytes_per_event} bytes per event on disk (segments and index; ${r.log_disk.ndjson_bytes_per_event} as NDJSON), ${n(r.log_disk.uncompacted_bytes)} bytes not compacted after ${r.log_disk.compaction_wait_s} s; WAL ${n(r.log_disk.wal_bytes)} bytes; compaction ${r.log_disk.compaction_cpu_us_per_event ?? '-'} µs CPU per event`,
          '',
        ].join('\n'),
      );
      await record();
    });

  bench
    .command('runbooks')
    .description('Runbook runs/s (3 steps: http, keel, http) and alert-to-first-step latency, beside the Store commit ceiling measured in the same run')
    .option('--runs <n>', 'runs of the 3-step runbook', positiveInt, 300)
    .option('--alerts <n>', 'alerts sent one at a time for the trigger latency', positiveInt, 30)
    .option('--concurrency <n>', 'runs started at a time', positiveInt, 16)
    .action(async (opts: { runs: number; alerts: number; concurrency: number }, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      const { benchRunbooks } = await import('../../bench/runbooks-bench.js');
      const r = await benchRunbooks({ runs: opts.runs, alerts: opts.alerts, concurrency: opts.concurrency, log: (l) => process.stderr.write(`${l}\n`) });
      if (json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(
        [
          `runs: ${r.runs_per_s} runs/s over ${r.runs} runs (${r.commits_per_run} commits each: ${Math.round(r.runs_per_s * r.commits_per_run)} commits/s)`,
          `ceiling: ${r.ceiling_commits_per_s} bare commits/s, one at a time (${r.ceiling_runs_per_s} runs/s at ${r.commits_per_run} commits per run)`,
          `alert to first step: p50 ${r.trigger_to_first_step_ms.p50} ms, p99 ${r.trigger_to_first_step_ms.p99} ms, max ${r.trigger_to_first_step_ms.max} ms (${r.trigger_to_first_step_ms.samples} alerts)`,
          '',
        ].join('\n'),
      );
    });

  bench
    .command('security')
    .description('Authentication, audit verification and sign-in: each beside a ceiling measured in the same run')
    .option('--duration <s>', 'seconds per HTTP measurement', positiveNumber, 5)
    .option('--connections <n>', 'concurrent HTTP connections', positiveInt, 8)
    .option('--audit-entries <n>', 'audit entries to verify', positiveInt, 20_000)
    .action(async (opts: { duration: number; connections: number; auditEntries: number }, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      const { benchSecurity } = await import('../../bench/security-bench.js');
      const r = await benchSecurity({ durationS: opts.duration, connections: opts.connections, auditEntries: opts.auditEntries, log: (l) => process.stderr.write(`${l}\n`) });
      if (json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      const n = (v: number) => v.toLocaleString('en-US');
      const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;
      process.stdout.write(
        [
          `requests/s, ${opts.connections} connections (p50 / p99 ms):`,
          `  ceiling, /healthz without authentication: ${n(r.public_ceiling.per_s)}  (${r.public_ceiling.p50_ms} / ${r.public_ceiling.p99_ms})`,
          `  API key, GET /v1/tenants/bench:          ${n(r.api_key.per_s)}  (${r.api_key.p50_ms} / ${r.api_key.p99_ms})  ${pct(r.api_key.per_s, r.public_ceiling.per_s)} of the ceiling`,
          `  session cookie, GET /v1/tenants/bench:   ${n(r.session_cookie.per_s)}  (${r.session_cookie.p50_ms} / ${r.session_cookie.p99_ms})  ${pct(r.session_cookie.per_s, r.public_ceiling.per_s)} of the ceiling`,
          `audit verify: ${n(r.audit_verify_entries_per_s)} entries/s over ${n(r.audit_entries)} entries; ceiling (bare sha256, one core) ${n(r.audit_sha256_ceiling_per_s)} entries/s`,
          `password sign-ins: ${r.sign_ins_per_s}/s over HTTP; ceiling (bare scrypt N=2^15 on the thread pool) ${r.scrypt_ceiling_per_s}/s, ${r.scrypt_ms} ms per hash`,
          '',
        ].join('\n'),
      );
    });

  bench
    .command('slo')
    .description('SLO aggregation events/s on one core vs bare JSON.parse, and freshness (202 to counted) under ingest load')
    .option('--slos <n>', 'SLOs with realistic CEL filters (1-10000)', positiveInt, 10)
    .option('--shape <shape>', 'templates (ten bench SLOs repeated with other thresholds) or fleet (n/10 services, ten SLOs each: per route, per tier, a breakdown)', 'templates')
    .option('--seconds <s>', 'seconds per throughput measurement', positiveNumber, 3)
    .option('--rate <events/s>', 'ingest rate offered during the freshness measurement', positiveNumber, 174_000)
    .option('--duration <s>', 'seconds of the freshness measurement', positiveNumber, 20)
    .option('--connections <n>', 'HTTP connections of the load generator', positiveInt, 8)
    .option('--no-freshness', 'measure throughput only (no Keel process)')
    .action(async (opts: { slos: number; shape: string; seconds: number; rate: number; duration: number; connections: number; freshness: boolean }, cmd: Command) => {
      // --json is also a global option: read it with the globals so both positions work.
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      if (opts.slos > 10_000) throw new UsageError('--slos must be 1 to 10000');
      if (opts.shape !== 'templates' && opts.shape !== 'fleet') throw new UsageError(`--shape must be templates or fleet, not ${JSON.stringify(opts.shape)}`);
      if (opts.freshness && opts.slos > 1000) throw new UsageError('the freshness measurement runs up to 1000 SLOs: add --no-freshness for more');
      const { benchSlo } = await import('../../bench/slo-bench.js');
      const r = await benchSlo({
        slos: opts.slos,
        shape: opts.shape === 'fleet' ? 'fleet' : 'templates',
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
        `SLO aggregation (${r.slos} SLOs, ${r.shape}, one core): ${n(r.fold_events_per_s)} events/s`,
        `ceiling (bare JSON.parse, same events):   ${n(r.ceiling_json_parse_events_per_s)} events/s (fold/ceiling ${r.fold_vs_ceiling})`,
        `per CPU-second (fold, ceiling):           ${n(r.fold_events_per_cpu_s)}, ${n(r.ceiling_json_parse_events_per_cpu_s)} (fold/ceiling ${r.fold_vs_ceiling_cpu})`,
        `fold without the predicate index:         ${n(r.fold_naive_events_per_s)} events/s (the index is ${r.index_speedup}x faster)`,
        `plan compile, heap used (after a GC):     ${n(r.plan_compile_ms)} ms, ${n(r.heap_used_mb)} MB`,
      ];
      if (r.json_parse_compiled_events_per_s !== null) {
        lines.push(
          `JSON.parse + compiled CEL:                ${n(r.json_parse_compiled_events_per_s)} events/s`,
          `JSON.parse + cel-js evaluator:            ${n(r.json_parse_library_cel_events_per_s ?? 0)} events/s (compiled is ${r.compiled_vs_library}x faster)`,
          `CEL evaluations alone:                    compiled ${n(r.cel_compiled_evaluations_per_s ?? 0)}/s, cel-js ${n(r.cel_library_evaluations_per_s ?? 0)}/s (${r.cel_compiled_vs_library}x)`,
        );
      }
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

export function registerSloEvalBench(bench: Command): void {
  modeOptions(
    bench
      .command('slo-eval')
      .description('Burn-rate evaluation of thousands of SLOs in a running Keel: apply, count and evaluation tick time against the evaluation interval')
      .option('--slos <n>', 'fleet SLOs (n/10 services, ten SLOs each; 10-10000)', positiveInt, 1000)
      .option('--events <thousands>', 'thousands of fleet events sent before the ticks', positiveInt, 50)
      .option('--ticks <n>', 'evaluation ticks timed', positiveInt, 5),
    'api/evaluator, ingest and worker roles on NATS + PostgreSQL',
  ).action(async (opts: { slos: number; events: number; ticks: number; mode: string; nats?: string; postgres?: string }, cmd: Command) => {
    const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
    if (opts.slos < 10 || opts.slos > 10_000) throw new UsageError('--slos must be 10 to 10000');
    const distributed = distributedServices(opts);
    const { benchSloEvaluation } = await import('../../bench/slo-eval-bench.js');
    const r = await benchSloEvaluation({ slos: opts.slos, events: opts.events, ticks: opts.ticks, ...(distributed ? { distributed } : {}), log: (line) => process.stderr.write(`${line}\n`) });
    if (json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const n = (v: number) => v.toLocaleString('en-US');
    process.stdout.write(
      [
        `SLO evaluation (${n(r.slos)} SLOs, ${n(r.events)} events): tick p50 ${n(r.tick_p50_ms)} ms, max ${n(r.tick_max_ms)} ms (${n(r.per_slo_us)} µs per SLO)`,
        `${`Keel's CPU per tick (${r.mode}):`.padEnd(42)}${n(r.tick_cpu_ms)} ms (${n(r.cpu_per_slo_us)} µs per SLO)${r.tick_postgres_cpu_ms !== undefined ? `, of which PostgreSQL ${n(r.tick_postgres_cpu_ms)} ms` : ''}`,
        `ceiling (the evaluation interval):        ${n(r.evaluation_interval_ms)} ms (tick/interval ${r.tick_vs_interval})`,
        `apply, count:                             ${n(r.apply_ms)} ms to apply, backfills done ${n(r.backfill_ms)} ms after the last event`,
        `${(r.mode === 'embedded' ? 'data dir:' : 'PostgreSQL schema:').padEnd(42)}${n(r.data_dir_bytes)} bytes (${n(r.data_dir_bytes_per_slo)} per SLO)`,
        '',
      ].join('\n'),
    );
  });
}

async function distributed(opts: IngestOpts, json: boolean, log: (line: string) => void, record: Command | undefined): Promise<void> {
  const nats = opts.nats ?? process.env.KEEL_NATS_URL;
  const postgres = opts.postgres ?? process.env.KEEL_POSTGRES_URL;
  if (!nats || !postgres) {
    throw new UsageError('--mode distributed needs --nats <urls> and --postgres <url> (or KEEL_NATS_URL and KEEL_POSTGRES_URL)');
  }
  const { benchDistributed } = await import('../../bench/distributed-bench.js');
  const r = await benchDistributed({
    natsUrl: nats,
    postgresUrl: postgres,
    durationS: opts.duration,
    warmupS: opts.warmup,
    connections: opts.connections ?? 16,
    batch: opts.batch,
    ingest: opts.ingest,
    workers: opts.workers,
    partitions: opts.partitions,
    scaling: Boolean(opts.scaling),
    log,
  });
  process.stdout.write(json ? `${JSON.stringify(r)}\n` : report(r));
  if (record) {
    const worker = r.cpu_ms_per_1000_events.worker;
    const figures = {
      mode: 'distributed' as const,
      eventsPerSecond: r.events_per_s,
      ceilingEventsPerSecond: r.ceiling_events_per_s,
      cores: r.cores,
      loadAverage: r.load_average_1m,
      partitions: r.partitions,
    };
    await recordBench(record, worker !== undefined && worker > 0 ? { ...figures, workerCpuMsPer1000: worker } : figures, log);
  }
}

function report(r: DistributedBenchResult): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const lines = [
    `distributed ingest (${r.ingest} ingest + ${r.workers} worker processes, ${r.partitions} partitions, ${r.batch} events/request of ${r.bytes_per_event} B, ${r.connections} connections, ${r.duration_s} s)`,
    `durable ingest:   ${n(r.events_per_s)} events/s acknowledged after the JetStream publish ack`,
    `ack latency:      p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`,
    `freshness:        p50 ${n(r.freshness_p50_ms)} ms, p99 ${n(r.freshness_p99_ms)} ms from 202 to counted by the usage processor; drained ${n(r.drain_ms)} ms after the load stopped`,
    `ceiling:          ${n(r.ceiling_events_per_s)} events/s (${n(r.ceiling_messages_per_s)} messages/s: raw JetStream async publish of the same messages, one Node process)`,
    `ratio:            ${r.ratio}`,
    `failed requests:  ${r.failures} ${JSON.stringify(r.statuses)}`,
    `check:            ${n(r.counted_events)} counted of ${n(r.acknowledged_events)} acknowledged (warm-up included)`,
    `machine:          ${r.cores} cores, load average ${r.load_average_1m} at start`,
    `cpu per 1000 ev:  ${
      Object.entries(r.cpu_ms_per_1000_events)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', ') || 'not measured (needs Linux /proc)'
    }`,
  ];
  if (r.scaling) {
    lines.push('', 'scaling (1 worker):', 'INGEST  EVENTS/S     P99 ACK MS  FRESHNESS P99 MS');
    for (const s of r.scaling as RunFigures[]) lines.push(`${String(s.ingest).padEnd(8)}${n(s.events_per_s).padEnd(13)}${String(s.p99_ms).padEnd(12)}${n(s.freshness_p99_ms)}`);
  }
  return `${lines.join('\n')}\n`;
}
