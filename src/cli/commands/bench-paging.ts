/** `keel bench paging`: alert intake and alert-to-page throughput beside the durable-commit ceiling. */
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt, UsageError } from '../args.js';
import { distributedServices, modeOptions, type ModeOpts } from './bench-mode.js';

export function registerPagingBench(bench: Command): void {
  bench
    .command('paging')
    .description('Events v2 alerts in, incidents opened, webhook pages out: rates and latencies vs durable commits/s (--json: one JSON object)')
    .option('--alerts <n>', 'alerts to send (each opens its own incident and pages once)', positiveInt, 2000)
    .option('--concurrency <n>', 'concurrent HTTP connections sending alerts', positiveInt, 16)
    .option('--single <n>', 'alerts sent one at a time first, each once the previous paged (lone-alert latency)', positiveInt, 50)
    .option('--warmup <n>', 'alerts of an unmeasured storm before the measured one, so V8 has compiled the hot paths as in a Keel that has run a while (0: none)', nonNegativeInt, 500)
    .action(async (opts: { alerts: number; concurrency: number; single: number; warmup: number }, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      // Loaded on use: the CLI starts faster when it does not load the bench and the server.
      const { benchPaging } = await import('../../bench/paging-bench.js');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const r = await benchPaging({ alerts: opts.alerts, single: opts.single, warmup: opts.warmup, concurrency: opts.concurrency, json, log });
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `single alert:     alert to page p50 ${r.single_alert_to_page_p50_ms} ms, p99 ${r.single_alert_to_page_p99_ms} ms (${r.single_alerts} alerts, one at a time)`,
          `alert intake:     ${n(r.intake_per_s)} alerts/s acknowledged (Events v2, ${r.concurrency} connections); p50 ${r.intake_p50_ms} ms, p99 ${r.intake_p99_ms} ms`,
          `storm to page:    ${n(r.pages_per_s)} pages/s end to end (${n(r.alerts)} alerts at once, after a warm-up storm of ${n(r.warmup_alerts)}); p50 ${r.alert_to_page_p50_ms} ms, p99 ${r.alert_to_page_p99_ms} ms`,
          `ceiling:          ${n(r.ceiling_commits_per_s)} durable commits/s on this disk = ${n(r.ceiling_alerts_per_s)} alerts/s at ${r.commits_per_alert} commits per alert`,
          `ratio:            ${r.ratio}`,
          `keel cpu:         ${r.keel_cpu_ms_per_alert} ms per paged alert (${n(r.keel_cpu_ms)} ms of the Keel process's CPU for the storm; steadier than rates on a loaded machine)`,
          `where the cpu went: Keel's event loop ${r.keel_main_thread_cpu_ms_per_alert} ms per alert (on the CPU ${Math.round(r.keel_event_loop_busy * 100)} % of the storm, loop utilisation ${Math.round(r.keel_event_loop_utilization * 100)} %), the bench's sender and receiver ${r.bench_cpu_ms_per_alert} ms; the machine ${r.machine_busy_cores} of ${r.machine_cores} cores busy`,
          `check:            ${n(r.pages_received)} of ${n(r.alerts)} paged, ${r.duplicate_pages} duplicate deliveries, ${r.failed_requests} failed requests`,
          '',
        ].join('\n'),
      );
    });
}

export function registerHistoryBench(bench: Command): void {
  modeOptions(
    bench
      .command('history')
      .description(
        'A year of paging history (and a tenth of it, for another team), then incident and alert lists (first page, a deep page, filters) and MTTA/MTTR metrics in ms per call, beside an authenticated one-row read',
      )
      .option('--alerts <n>', 'alerts in the history (10000-1000000)', positiveInt, 100_000)
      .option('--incidents <n>', 'incidents in the history (1000-100000)', positiveInt, 10_000)
      .option('--calls <n>', 'timed calls per measurement (the median is printed)', positiveInt, 20),
    'an api/evaluator process on NATS + PostgreSQL, in a PostgreSQL schema of its own',
  )
    .addHelpText(
      'after',
      '\nThe history is inserted straight into the owning tables: of a scratch data dir (embedded), or of a PostgreSQL schema of its own (distributed); both are removed afterwards.',
    )
    .action(async (opts: { alerts: number; incidents: number; calls: number } & ModeOpts, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      if (opts.alerts < 10_000 || opts.alerts > 1_000_000) throw new UsageError(`--alerts must be 10000 to 1000000, got ${opts.alerts}`);
      if (opts.incidents < 1000 || opts.incidents > 100_000) throw new UsageError(`--incidents must be 1000 to 100000, got ${opts.incidents}`);
      const distributed = distributedServices(opts);
      const { benchHistory } = await import('../../bench/history-bench.js');
      const r = await benchHistory({ alerts: opts.alerts, incidents: opts.incidents, calls: opts.calls, ...(distributed ? { distributed } : {}), log: (line) => process.stderr.write(`${line}\n`) });
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      const call = (t: { name: string; page: number }) => (t.name.endsWith('deep page') ? t.name.replace('deep page', `page ${t.page}`) : t.name);
      const lines = [
        `${r.mode === 'embedded' ? 'embedded (SQLite)' : 'distributed (PostgreSQL)'}: team "${r.team}" ${n(r.incidents)} incidents, ${n(r.alerts)} alerts over a year; team "${r.small.team}" ${n(r.small.incidents)} and ${n(r.small.alerts)} (built in ${r.build_s} s); load average ${r.load_average_1m}`,
        `ceiling: GET /v1/tenants/${r.team} ${r.ceiling_ms} ms per call (median; an authenticated one-row read)`,
        'CALL (LARGE HISTORY)                MEDIAN MS   MAX MS   VS CEILING  ROWS   SMALL HISTORY MS  ROWS  LARGE/SMALL',
        ...r.timings.map(
          (t) =>
            `${call(t).padEnd(36)}${String(t.median_ms).padStart(9)}${String(t.max_ms).padStart(9)}${String(t.vs_ceiling).padStart(13)}${String(t.rows).padStart(6)}${String(t.small.median_ms).padStart(19)}${String(t.small.rows).padStart(6)}${String(t.large_vs_small).padStart(13)}`,
        ),
        `flat in depth: incidents page ${r.timings[1]!.page} / first page ${r.deep_vs_first.incidents}, alerts page ${r.timings[6]!.page} / first page ${r.deep_vs_first.alerts}`,
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });
}
