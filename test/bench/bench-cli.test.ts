/** The benchmark command works end to end (its figures are judged in BENCHMARKS.md, not here). */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { runCli, runCliWithEnv } from '../helpers/cli.js';
import { NATS_URL, PG_URL } from '../helpers/stores.js';

describe('keel bench ingest', () => {
  it('prints one JSON object with the documented keys', async () => {
    const r = await runCli(['bench', 'ingest', '--duration', '1', '--warmup', '0', '--connections', '2', '--batch', '200', '--compaction-wait', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number> & { log_disk: Record<string, number> };
    // Bytes per event on disk, from the log's files: a second of load stays in the active
    // segment (not compacted), so its size on disk is at least the NDJSON's.
    for (const k of ['disk_bytes_per_event', 'ndjson_bytes_per_event', 'segment_bytes', 'uncompacted_bytes']) expect(typeof out.log_disk[k], k).toBe('number');
    expect(out.log_disk.ndjson_bytes_per_event).toBeCloseTo(out.bytes_per_event!, -1);
    expect(out.log_disk.disk_bytes_per_event).toBeGreaterThanOrEqual(out.log_disk.ndjson_bytes_per_event!);
    expect(r.stderr).toContain('waiting for compaction:');
    for (const k of ['events_per_s', 'p50_ms', 'p99_ms', 'ceiling_events_per_s', 'ratio']) expect(typeof out[k], k).toBe('number');
    expect(out.events_per_s).toBeGreaterThan(0);
    expect(out.failures).toBe(0);
    // Every acknowledged event was stored.
    expect(out.stored_events).toBeGreaterThanOrEqual(out.acknowledged_events!);
    expect(r.stderr).toContain('ceiling:');
  });

  it('with --tenants, measures the load spread over that many tenants beside the single-tenant figure', async () => {
    const r = await runCli(['bench', 'ingest', '--tenants', '5', '--duration', '1', '--warmup', '0', '--connections', '2', '--batch', '50', '--compaction-wait', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      events_per_s: number;
      stored_events: number;
      acknowledged_events: number;
      many_tenants: { tenants: number; failures: number; events_per_s: number; ratio_to_single_tenant: number };
    };
    const many = out.many_tenants;
    expect(many.tenants).toBe(5);
    expect(many.failures).toBe(0);
    expect(many.events_per_s).toBeGreaterThan(0);
    // The ratio is the two figures of this run, not a separately measured number.
    expect(many.ratio_to_single_tenant).toBeCloseTo(many.events_per_s / out.events_per_s, 1);
    expect(out.stored_events).toBeGreaterThanOrEqual(out.acknowledged_events);
    expect(r.stderr).toContain('creating 5 tenants, each with its own key and quota');
  });

  it('refuses more tenants than it creates, with the limit', async () => {
    const r = await runCli(['bench', 'ingest', '--tenants', '10001']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tenants must be 1 to 10000');
  });
});

describe('a bench whose Keel cannot start', () => {
  // Keel refuses to start on a config file that does not exist; the bench must say so and exit,
  // not hang on the webhook receiver it opened first (runCliWithEnv fails after 60 s).
  it.each([
    ['paging', ['--alerts', '1', '--single', '1', '--warmup', '0', '--json']],
    ['runbooks', ['--runs', '1', '--alerts', '1', '--json']],
  ])("keel bench %s exits 1 with Keel's own error", async (name, args) => {
    const r = await runCliWithEnv(['bench', name, ...args], { KEEL_CONFIG: '/nonexistent/keel.yaml' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('keel exited with code 2 before it was ready');
    expect(r.stderr).toContain('config file /nonexistent/keel.yaml does not exist');
    expect(r.stdout).toBe('');
  });
});

describe('keel bench slo', () => {
  it('measures the fleet shape with and without the predicate index, beside the ceiling', async () => {
    const r = await runCli(['bench', 'slo', '--no-freshness', '--shape', 'fleet', '--slos', '50', '--seconds', '0.2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.slos).toBe(50);
    expect(out.shape).toBe('fleet');
    for (const k of ['fold_events_per_s', 'fold_naive_events_per_s', 'ceiling_json_parse_events_per_s', 'fold_vs_ceiling', 'fold_vs_ceiling_cpu', 'index_speedup', 'heap_used_mb'])
      expect(typeof out[k], k).toBe('number');
    expect(out.scanner_fallbacks).toBe(0);
    expect(r.stderr).toContain('ceiling (bare JSON.parse)');
  });

  it('refuses an unknown shape and more SLOs than it builds, with the limit', async () => {
    const shape = await runCli(['bench', 'slo', '--no-freshness', '--shape', 'zoo']);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toContain('--shape must be templates or fleet');
    const many = await runCli(['bench', 'slo', '--no-freshness', '--slos', '10001']);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('--slos must be 1 to 10000');
    const fresh = await runCli(['bench', 'slo', '--slos', '2000']);
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toContain('the freshness measurement runs up to 1000 SLOs: add --no-freshness');
    const evalFew = await runCli(['bench', 'slo-eval', '--slos', '5']);
    expect(evalFew.code).toBe(2);
    expect(evalFew.stderr).toContain('--slos must be 10 to 10000');
    const evalMode = await runCli(['bench', 'slo-eval', '--mode', 'cluster']);
    expect(evalMode.code).toBe(2);
    expect(evalMode.stderr).toContain('--mode must be embedded or distributed, got "cluster"');
    const evalNoPostgres = await runCli(['bench', 'slo-eval', '--mode', 'distributed', '--nats', 'nats://127.0.0.1:4222'], { env: { KEEL_POSTGRES_URL: '' } });
    expect(evalNoPostgres.code).toBe(2);
    expect(evalNoPostgres.stderr).toContain('--mode distributed needs --nats <urls> and --postgres <url>');
  });
});

interface HistoryCallOut {
  path: string;
  page: number;
  median_ms: number;
  rows: number;
}
interface HistoryOut {
  mode: string;
  alerts: number;
  incidents: number;
  small: { team: string; alerts: number; incidents: number };
  ceiling_ms: number;
  timings: (HistoryCallOut & { name: string; small: HistoryCallOut; large_vs_small: number })[];
  deep_vs_first: { incidents: number; alerts: number };
}

/**
 * What every call of `--alerts 10000 --incidents 1000` answers, counted by hand from the history
 * (incidents evenly over 365 days on svc-0..svc-19, the newest 20 open; the small team has a
 * tenth): [name, page reached and rows on the large history, page and rows on the small one].
 */
const HISTORY_ROWS: [string, number, number, number, number][] = [
  ['incidents: first page', 1, 50, 1, 50],
  // 1,000 incidents are 20 pages of 50; 100 are 2.
  ['incidents: deep page', 20, 50, 2, 50],
  ['incidents: open ones', 1, 20, 1, 20],
  // svc-3 has incidents 3, 23, ..., 983 (50; 983 still open) and, of 100, 3..83 (5; 83 open).
  ['incidents: one service, resolved', 1, 49, 1, 4],
  // Fewer than 50 per service: the deepest page is the first.
  ['incidents: one service, deep page', 1, 49, 1, 4],
  ['alerts: first page', 1, 50, 1, 50],
  // 10,000 alerts are 200 pages of 50; 1,000 are 20.
  ['alerts: deep page', 200, 50, 20, 50],
  ['alerts: firing ones', 1, 50, 1, 50],
  // Metrics count incidents opened in the range: the last 30 of 365 days hold incidents 918-999 (82) and 92-99 (8).
  ['metrics: last 30 days', 1, 82, 1, 8],
  ['metrics: the year', 1, 1000, 1, 100],
  ['metrics: the year, one service', 1, 50, 1, 5],
];

function expectHistory(out: HistoryOut, mode: string): void {
  expect(out.mode).toBe(mode);
  expect(out.alerts).toBe(10_000);
  expect(out.incidents).toBe(1000);
  expect(out.small).toEqual({ team: 'history-small', alerts: 1000, incidents: 100 });
  expect(out.ceiling_ms).toBeGreaterThan(0);
  expect(out.timings.map((t) => [t.name, t.page, t.rows, t.small.page, t.small.rows])).toEqual(HISTORY_ROWS);
  for (const t of out.timings) {
    expect(t.median_ms, t.name).toBeGreaterThan(0);
    expect(t.large_vs_small, t.name).toBeCloseTo(t.median_ms / t.small.median_ms, 1);
  }
  // Deep pages are reached by cursor, never by offset.
  expect(out.timings[1]!.path).toMatch(/^\/v1\/incidents\?state=all&limit=50&cursor=/);
  expect(out.timings[6]!.small.path).toMatch(/^\/v1\/paging\/alerts\?limit=50&cursor=/);
  expect(out.deep_vs_first.alerts).toBeCloseTo(out.timings[6]!.median_ms / out.timings[5]!.median_ms, 1);
}

describe('keel bench history', () => {
  it('builds the history and times every list, deep page, filter and metric beside the ceiling, on a large and a small history', async () => {
    const r = await runCli(['bench', 'history', '--alerts', '10000', '--incidents', '1000', '--calls', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expectHistory(JSON.parse(r.stdout) as HistoryOut, 'embedded');
  });

  it('with --mode distributed, builds the same history in a PostgreSQL schema of its own, answers the same, and drops the schema', async () => {
    const r = await runCli(['bench', 'history', '--alerts', '10000', '--incidents', '1000', '--calls', '2', '--mode', 'distributed', '--nats', NATS_URL, '--postgres', PG_URL, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expectHistory(JSON.parse(r.stdout) as HistoryOut, 'distributed');
    const schema = /PostgreSQL schema (keel_bench_[a-z0-9]+)/.exec(r.stderr)?.[1];
    expect(schema, r.stderr).toBeDefined();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const left = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(left.rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('refuses a history outside its limits', async () => {
    const r = await runCli(['bench', 'history', '--alerts', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--alerts must be 10000 to 1000000, got 5');
    const noNats = await runCli(['bench', 'history', '--mode', 'distributed', '--postgres', PG_URL], { env: { KEEL_NATS_URL: '' } });
    expect(noNats.code).toBe(2);
    expect(noNats.stderr).toContain('--mode distributed needs --nats <urls> and --postgres <url>');
  });
});
