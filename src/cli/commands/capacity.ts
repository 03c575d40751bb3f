/** `keel capacity …`: the ranked report of every tracked limit. */
import { renameSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../args.js';
import { clientOf, globals } from '../context.js';
import { printJson, printTable } from '../output.js';

export interface LimitLine {
  id: string;
  tenant: string | null;
  title: string;
  unit: string;
  usage: number;
  capacity: number | null;
  utilisation: number | null;
  trendPerDay: number | null;
  model: string | null;
  backtestError: number | null;
  exhaustion: { status: string; at: string | null; earliest: string | null; latest: string | null; notBefore: string | null; reason?: string };
  action: string;
}

interface ReportAnswer {
  at: string;
  horizon: string;
  limits: LimitLine[];
}

function num(v: number | null, digits = 3): string {
  if (v === null) return '-';
  const a = Math.abs(v);
  const p = (x: number): string => Number(x.toPrecision(digits)).toString();
  if (a >= 1e9) return `${p(v / 1e9)}G`;
  if (a >= 1e6) return `${p(v / 1e6)}M`;
  if (a >= 1e3) return `${p(v / 1e3)}k`;
  return Number(v.toPrecision(digits)).toString();
}

const day = (iso: string | null): string => (iso === null ? '?' : iso.slice(0, 16).replace('T', ' '));

export function whenText(l: LimitLine): string {
  const e = l.exhaustion;
  if (e.status === 'exhausted') return 'NOW (at or over capacity)';
  if (e.status === 'forecast') return `${day(e.at)} (band ${day(e.earliest)} – ${e.latest === null ? 'beyond horizon' : day(e.latest)})`;
  if (e.status === 'not_before') return `not before ${day(e.notBefore)}`;
  return `unknown: ${e.reason ?? 'no forecast'}`;
}

export function lineRows(limits: LimitLine[]) {
  return limits.map((l) => ({
    limit: l.id,
    use: `${num(l.usage)}/${num(l.capacity)} ${l.unit}`.trim(),
    util: l.utilisation === null ? '-' : `${(l.utilisation * 100).toFixed(1)}%`,
    trend: l.trendPerDay === null ? '-' : `${l.trendPerDay >= 0 ? '+' : ''}${num(l.trendPerDay)}/day`,
    model: l.model === null ? '-' : `${l.model}${l.backtestError === null ? '' : ` ±${(l.backtestError * 100).toFixed(1)}%`}`,
    exhaustion: whenText(l),
  }));
}

export function markdown(r: ReportAnswer): string {
  const out = [
    `# Capacity report`,
    '',
    `At ${r.at}; forecasts look to ${r.horizon}. Soonest exhaustion first.`,
    '',
    '| limit | use / capacity | utilisation | trend | model (back-tested error) | exhaustion | action |',
    '|---|---|---|---|---|---|---|',
  ];
  const rows = lineRows(r.limits);
  r.limits.forEach((l, i) => {
    const row = rows[i]!;
    out.push(`| \`${l.id}\` ${l.title} | ${row.use} | ${row.util} | ${row.trend} | ${row.model} | ${row.exhaustion} | ${l.action} |`);
  });
  return `${out.join('\n')}\n`;
}

interface ForecastOpts {
  growth?: string;
  horizon?: string;
  adjust?: string[];
  model?: string;
}

function forecastQuery(o: ForecastOpts): Record<string, string | undefined> {
  return { growth: o.growth, horizon: o.horizon, adjust: o.adjust && o.adjust.length > 0 ? o.adjust.join(',') : undefined, model: o.model };
}

function withForecastOptions(cmd: Command): Command {
  return cmd
    .option('--growth <rate>', 'what-if growth replacing the fitted trend, e.g. 20%/month')
    .option('--horizon <duration>', 'how far ahead to look, e.g. 14d or 90d (default: capacity.horizon)')
    .option('--adjust <DATE:+N%>', 'a planned change from DATE on, e.g. 2026-05-01:+30% (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--model <model>', 'force linear or seasonal (default: the smaller back-tested error)');
}

export function registerCapacity(program: Command): void {
  const capacity = program.command('capacity').description('Every limit Keel tracks: utilisation, trend and time to exhaustion, growth planning');
  withForecastOptions(
    capacity
      .command('report')
      .description('Every tracked limit ranked by time to exhaustion, with utilisation, trend, band and the action that would help')
      .option('--md', 'print a Markdown table (for a ticket or a wiki page)')
      .option('-t, --tenant <tenant>', "one tenant's limits (system admins see every limit without it)"),
  ).action(async (opts: ForecastOpts & { md?: boolean; tenant?: string }, cmd: Command) => {
    const res = await clientOf(cmd).call<ReportAnswer>('GET', '/v1/capacity', { query: { ...forecastQuery(opts), tenant: opts.tenant } });
    if (globals(cmd).json) return printJson(res);
    if (opts.md) return void process.stdout.write(markdown(res));
    process.stdout.write(`capacity at ${res.at}, looking to ${res.horizon}; soonest exhaustion first\n`);
    printTable(lineRows(res.limits), ['limit', 'use', 'util', 'trend', 'model', 'exhaustion']);
    const urgent = res.limits.filter((l) => l.exhaustion.status === 'exhausted' || l.exhaustion.status === 'forecast');
    if (urgent.length > 0) {
      process.stdout.write('\nwhat would help\n');
      for (const l of urgent) process.stdout.write(`  ${l.id}: ${l.action}\n`);
    }
  });
  registerCapacityQuota(capacity);
  withForecastOptions(
    capacity
      .command('plot')
      .description("Draw a limit: usage history, forecast, band and the capacity line (rendered by Keel, SVG or PNG by the file's extension)")
      .argument('<limit>', 'the limit id (keel capacity report lists them), e.g. tenant.acme.rate')
      .requiredOption('-o, --output <file>', 'file.svg or file.png'),
  ).action(async (limit: string, opts: ForecastOpts & { output: string }, cmd: Command) => {
    const ext = extname(opts.output).toLowerCase();
    if (ext !== '.svg' && ext !== '.png') throw new UsageError(`-o ${opts.output}: the file must end in .svg or .png`);
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...forecastQuery(opts), format: ext.slice(1) })) if (v !== undefined) qs.set(k, v);
    const tmp = `${opts.output}.${process.pid}.tmp`;
    await clientOf(cmd).download('GET', `/v1/capacity/limits/${encodeURIComponent(limit)}/plot?${qs.toString()}`, tmp);
    renameSync(tmp, opts.output);
    const bytes = statSync(opts.output).size;
    if (globals(cmd).json) return printJson({ limit, file: opts.output, format: ext.slice(1), bytes });
    process.stdout.write(`wrote ${opts.output} (${bytes} bytes)\n`);
  });
  capacity
    .command('plan')
    .description('Nodes, partitions, disk and stream size (and cost) for a projected load, from the measured per-node figures')
    .option('--load <rate>', 'projected peak load, e.g. 500000/s or 30M/min')
    .option('--growth <rate>', 'growth of the measured peak load, e.g. 20%/month (with --at)')
    .option('--at <date>', 'the date to project the growth to (with --growth)')
    .action(async (opts: { load?: string; growth?: string; at?: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<PlanAnswer>('GET', '/v1/capacity/plan', { query: { load: opts.load, growth: opts.growth, at: opts.at } });
      if (globals(cmd).json) return printJson(res);
      const gb = (b: number) => `${num(b / 1e9)} GB`;
      const money = (m: number | null) => (m === null ? '- (set capacity.nodePricePerMonth)' : m.toFixed(2));
      process.stdout.write(
        `projected peak load ${num(res.load)} events/s (measured peak ${num(res.measuredPeakLoad)}/s), ${Math.round(res.bytesPerEvent)} bytes per event${res.bytesPerEventMeasured ? ' (measured)' : ' (benchmark default)'}\n\n`,
      );
      process.stdout.write(
        `embedded:    ${res.embedded.nodes} node(s), log disk ${gb(res.embedded.diskBytes)} at ${Math.round(res.embedded.diskBytesPerEvent)} bytes per event on disk${res.compactedFractionMeasured ? ' (compaction measured on this log)' : ''}; cost/month ${money(res.embedded.costPerMonth)}\n`,
      );
      for (const n of res.embedded.notes) process.stdout.write(`  - ${n}\n`);
      const d = res.distributed;
      process.stdout.write(
        `distributed: ${d.nodes} nodes (${d.ingestNodes} ingest, ${d.workerNodes} worker, ${d.natsNodes} NATS, 1 PostgreSQL), ${d.partitions} partitions, stream ${gb(d.streamBytes)}; cost/month ${money(d.costPerMonth)}, per billion events ${money(d.costPerBillionEvents)}\n`,
      );
      for (const n of d.notes) process.stdout.write(`  - ${n}\n`);
    });
}

interface PlanAnswer {
  load: number;
  measuredPeakLoad: number;
  bytesPerEvent: number;
  bytesPerEventMeasured: boolean;
  compactedFractionMeasured: boolean;
  embedded: { nodes: number; diskBytes: number; diskBytesPerEvent: number; costPerMonth: number | null; notes: string[] };
  distributed: {
    nodes: number;
    ingestNodes: number;
    workerNodes: number;
    natsNodes: number;
    partitions: number;
    streamBytes: number;
    costPerMonth: number | null;
    costPerBillionEvents: number | null;
    notes: string[];
  };
}

interface QuotaAnswer {
  tenant: string;
  eventsPerDay: number | null;
  day: string;
  usedToday: number;
  remaining: number | null;
  utilisation: number | null;
  resetsAt: string;
}

function printQuota(q: QuotaAnswer): void {
  if (q.eventsPerDay === null) process.stdout.write(`tenant ${q.tenant}: no daily volume quota (${q.usedToday} events counted on ${q.day})\n`);
  else
    process.stdout.write(
      `tenant ${q.tenant}: ${q.usedToday} of ${q.eventsPerDay} events/day used on ${q.day} (UTC, ${((q.utilisation ?? 0) * 100).toFixed(1)} %), ${q.remaining} left, resets ${q.resetsAt}\n`,
    );
}

export function registerCapacityQuota(capacity: Command): void {
  const quota = capacity.command('quota').description('Daily volume quotas per tenant (events per UTC day), besides the rate quota');
  quota
    .command('show')
    .description("A tenant's daily volume quota and what it used today")
    .argument('<tenant>', 'the tenant')
    .action(async (tenant: string, _o: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<QuotaAnswer>('GET', `/v1/capacity/quotas/${encodeURIComponent(tenant)}`);
      if (globals(cmd).json) return printJson(res);
      printQuota(res);
    });
  quota
    .command('set')
    .description("Set or remove a tenant's daily volume quota (system admins)")
    .argument('<tenant>', 'the tenant')
    .option('--events-per-day <n>', 'events per UTC day, e.g. 50000000 or 50M')
    .option('--none', 'remove the daily quota')
    .action(async (tenant: string, o: { eventsPerDay?: string; none?: boolean }, cmd: Command) => {
      if ((o.eventsPerDay === undefined) === !o.none) throw new UsageError('give --events-per-day N or --none');
      let eventsPerDay: number | null = null;
      if (o.eventsPerDay !== undefined) {
        const m = /^(\d+(?:\.\d+)?)([kKmMgGbB]?)$/.exec(o.eventsPerDay.trim());
        const mult: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, b: 1e9, B: 1e9 };
        if (!m) throw new UsageError(`--events-per-day: "${o.eventsPerDay}" is not a number of events (e.g. 50000000 or 50M)`);
        eventsPerDay = Math.round(Number(m[1]) * mult[m[2]!]!);
      }
      const res = await clientOf(cmd).call<QuotaAnswer>('PUT', `/v1/capacity/quotas/${encodeURIComponent(tenant)}`, { body: { eventsPerDay } });
      if (globals(cmd).json) return printJson(res);
      printQuota(res);
    });
}
