/** `keel bench`: benchmarks of the hot paths, each printed beside the machine's ceiling. */
import { InvalidArgumentError, type Command } from 'commander';
import { benchDistributed, type DistributedBenchResult, type RunFigures } from '../../bench/distributed-bench.js';
import { benchIngest } from '../../bench/ingest-bench.js';
import { KeelError } from '../../core/errors.js';

interface IngestOpts {
  duration: number;
  warmup: number;
  connections?: number;
  batch: number;
  parseThreads?: number;
  json?: boolean;
  mode: string;
  nats?: string;
  postgres?: string;
  ingest: number;
  workers: number;
  partitions: number;
  scaling?: boolean;
}

function positive(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive number, got "${v}"`);
    return n;
  };
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('Measure Keel on this machine (not a test: prints figures)');

  bench
    .command('ingest')
    .description('Durable ingest over HTTP: events/s and ack latency beside the ceiling measured in the same run')
    .option('--mode <mode>', 'embedded (one process, SQLite; ceiling: one core of JSON.parse) or distributed (roles on NATS + PostgreSQL; ceiling: raw JetStream publish)', 'embedded')
    .option('--duration <s>', 'seconds to measure', positive('--duration'), 10)
    .option('--warmup <s>', 'seconds of load before measuring', positive('--warmup'), 2)
    .option('--connections <n>', 'concurrent HTTP connections (default 8 embedded, 16 distributed)', positive('--connections'))
    .option('--batch <n>', 'events per request', positive('--batch'), 1000)
    .option('--parse-threads <n>', 'parse threads in the server (embedded; default: its own default)', (v) => Number(v))
    .option('--nats <urls>', 'distributed: NATS JetStream server(s) (env KEEL_NATS_URL)', process.env.KEEL_NATS_URL)
    .option('--postgres <url>', 'distributed: PostgreSQL URL (env KEEL_POSTGRES_URL)', process.env.KEEL_POSTGRES_URL)
    .option('--ingest <n>', 'distributed: ingest processes', positive('--ingest'), 2)
    .option('--workers <n>', 'distributed: worker processes', positive('--workers'), 1)
    .option('--partitions <n>', 'distributed: event log partitions', positive('--partitions'), 8)
    .option('--scaling', 'distributed: also run with 1, 2 and 4 ingest processes')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  keel bench ingest --duration 10\n  keel bench ingest --mode distributed --nats nats://127.0.0.1:4222 --postgres postgres://postgres@127.0.0.1:5432/test --scaling\n' +
        'The distributed bench creates its own stream and schema (random names) and removes them afterwards.',
    )
    .action(async (opts: IngestOpts) => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (opts.mode === 'distributed') return distributed(opts, log);
      if (opts.mode !== 'embedded') throw new KeelError('validation_failed', `--mode must be embedded or distributed, got "${opts.mode}"`);
      const r = await benchIngest({
        durationS: opts.duration,
        warmupS: opts.warmup,
        connections: opts.connections ?? 8,
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
}

async function distributed(opts: IngestOpts, log: (line: string) => void): Promise<void> {
  if (!opts.nats || !opts.postgres) {
    throw new KeelError('validation_failed', '--mode distributed needs --nats <urls> and --postgres <url> (or KEEL_NATS_URL and KEEL_POSTGRES_URL)');
  }
  const r = await benchDistributed({
    natsUrl: opts.nats,
    postgresUrl: opts.postgres,
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
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  process.stdout.write(report(r));
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
  ];
  if (r.scaling) {
    lines.push('', 'scaling (1 worker):', 'INGEST  EVENTS/S     P99 ACK MS  FRESHNESS P99 MS');
    for (const s of r.scaling as RunFigures[]) lines.push(`${String(s.ingest).padEnd(8)}${n(s.events_per_s).padEnd(13)}${String(s.p99_ms).padEnd(12)}${n(s.freshness_p99_ms)}`);
  }
  return `${lines.join('\n')}\n`;
}
