/** `keel bench paging`: alert intake and alert-to-page throughput beside the durable-commit ceiling. */
import type { Command } from 'commander';
import { positiveInt } from '../args.js';

export function registerPagingBench(bench: Command): void {
  bench
    .command('paging')
    .description('Events v2 alerts in, incidents opened, webhook pages out: rates and latencies vs durable commits/s (--json: one JSON object)')
    .option('--alerts <n>', 'alerts to send (each opens its own incident and pages once)', positiveInt, 2000)
    .option('--concurrency <n>', 'concurrent HTTP connections sending alerts', positiveInt, 16)
    .option('--single <n>', 'alerts sent one at a time first, each once the previous paged (lone-alert latency)', positiveInt, 50)
    .action(async (opts: { alerts: number; concurrency: number; single: number }, cmd: Command) => {
      const json = Boolean((cmd.optsWithGlobals() as { json?: boolean }).json);
      // Loaded on use: the CLI starts faster when it does not load the bench and the server.
      const { benchPaging } = await import('../../bench/paging-bench.js');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const r = await benchPaging({ alerts: opts.alerts, single: opts.single, concurrency: opts.concurrency, json, log });
      if (json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const n = (v: number) => v.toLocaleString('en-US');
      process.stdout.write(
        [
          `single alert:     alert to page p50 ${r.single_alert_to_page_p50_ms} ms, p99 ${r.single_alert_to_page_p99_ms} ms (${r.single_alerts} alerts, one at a time)`,
          `alert intake:     ${n(r.intake_per_s)} alerts/s acknowledged (Events v2, ${r.concurrency} connections); p50 ${r.intake_p50_ms} ms, p99 ${r.intake_p99_ms} ms`,
          `storm to page:    ${n(r.pages_per_s)} pages/s end to end (${n(r.alerts)} alerts at once); p50 ${r.alert_to_page_p50_ms} ms, p99 ${r.alert_to_page_p99_ms} ms`,
          `ceiling:          ${n(r.ceiling_commits_per_s)} durable commits/s on this disk = ${n(r.ceiling_alerts_per_s)} alerts/s at ${r.commits_per_alert} commits per alert`,
          `ratio:            ${r.ratio}`,
          `check:            ${n(r.pages_received)} of ${n(r.alerts)} paged, ${r.duplicate_pages} duplicate deliveries, ${r.failed_requests} failed requests`,
          '',
        ].join('\n'),
      );
    });
}
