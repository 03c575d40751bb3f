/** `keel verify counts`: do the counters agree with the readable event log? */
import type { Command } from 'commander';
import { time } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

interface VerifyAnswer {
  ok: boolean;
  since: string;
  buckets: number;
  partitions: { partition: number; position: number; batchesRead: number }[];
  differences: { partition: number; tenant: string; minute: string; log: { events: number; bytes: number }; counted: { events: number; bytes: number }; batches: string[] }[];
}

export function registerVerify(program: Command): void {
  const verify = program.command('verify').description('Check Keel’s state against its sources');
  verify
    .command('counts')
    .description('Recompute usage from the readable event log and compare it with the counters, per partition, tenant and minute')
    .option('--since <time>', 'compare minutes from this time on: a date, RFC 3339, epoch ms, 7d or now-1h (default: one hour ago; keep it within the log’s retention)', time)
    .addHelpText('after', '\nExit code: 0 when the counters equal the log, 1 when one differs (the partitions, minutes and batch ids are printed).')
    .action(async (opts: { since?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<VerifyAnswer>('GET', '/v1/verify/counts', { query: { since: opts.since } });
      if (globals(cmd).json) printJson(res);
      else {
        const read = res.partitions.reduce((n, p) => n + p.batchesRead, 0);
        process.stdout.write(`${res.ok ? 'OK' : 'DIFFERENT'}: ${res.buckets} minute buckets since ${res.since} compared, ${read} batches read from ${res.partitions.length} partitions\n`);
        if (!res.ok) {
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
      }
      if (!res.ok) process.exitCode = 1;
    });
}
