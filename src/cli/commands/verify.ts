/** `keel verify counts`: do the usage and SLO counters agree with the readable event log? */
import type { Command } from 'commander';
import { time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';
import type { VerifyCountsAnswer } from '../../verify/schemas.js';

export function registerVerify(program: Command): void {
  const verify = program.command('verify').description('Check Keel’s state against its sources');
  verify
    .command('counts')
    .description('Recompute usage and SLO totals from the readable event log and compare them with the counters')
    .option(
      '--since <time>',
      'compare from this time on: a date, RFC 3339, epoch ms, 7d or now-1h (default: one hour ago; what retention removed is not compared, and the output says from when it compared)',
      time,
    )
    .addHelpText(
      'after',
      '\nUsage is compared per partition, tenant and minute of arrival; SLO good/total per SLO, objective, resolution and bucket of event time (overall series of fully backfilled SLOs).\nExit code: 0 when the counters equal the log, 1 when one differs (the figures, batch ids and partitions are printed).',
    )
    .action(async (opts: { since?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<VerifyCountsAnswer>('GET', '/v1/verify/counts', { query: { since: opts.since } });
      if (globals(cmd).json) printJson(res);
      else {
        const read = res.partitions.reduce((n, p) => n + p.batchesRead, 0);
        const out = (line: string) => process.stdout.write(`${line}\n`);
        out(`${res.ok ? 'OK' : 'DIFFERENT'}: ${read} batches read from ${res.partitions.length} partitions`);
        if (res.log.completeFrom) out(`the log's retention removed older batches: only what arrived from ${res.log.completeFrom} on is compared`);
        out(`usage: ${res.buckets} minute buckets from ${res.usage.from}${res.usage.limitedBy ? ` (limited by ${res.usage.limitedBy})` : ''}, ${res.differences.length} different`);
        out(`slo: ${res.slo.buckets} buckets of ${res.slo.compared.length} SLOs, ${res.slo.differenceCount} different`);
        for (const s of res.slo.compared) if (s.limitedBy) out(`  ${s.tenant}/${s.slo}: compared from ${s.from} (limited by ${s.limitedBy})`);
        for (const s of res.slo.skipped) out(`  not compared: ${s.tenant}/${s.slo}: ${s.reason}`);
        out(`  not compared for any SLO: ${res.slo.notCompared}`);
        if (res.differences.length > 0) {
          printTable(
            res.differences.map((d) => ({
              partition: d.partition,
              tenant: d.tenant,
              minute: d.minute,
              'log events': d.log.events,
              'counted events': d.counted.events,
              'log bytes': d.log.bytes,
              'counted bytes': d.counted.bytes,
              batches: d.batches.join(' '),
            })),
            ['partition', 'tenant', 'minute', 'log events', 'counted events', 'log bytes', 'counted bytes', 'batches'],
          );
        }
        if (res.slo.differences.length > 0) {
          printTable(
            res.slo.differences.map((d) => ({
              slo: `${d.tenant}/${d.slo}`,
              objective: d.objective,
              bucket: `${d.bucket} (${d.resolution} s)`,
              'log good/bad/total': `${d.log.good}/${d.log.bad}/${d.log.total}`,
              'counted good/bad/total': `${d.counted.good}/${d.counted.bad}/${d.counted.total}`,
              partitions: d.partitions.join(' '),
              batches: d.batches.join(' '),
            })),
            ['slo', 'objective', 'bucket', 'log good/bad/total', 'counted good/bad/total', 'partitions', 'batches'],
          );
        }
      }
      if (!res.ok) process.exitCode = 1;
    });
}
