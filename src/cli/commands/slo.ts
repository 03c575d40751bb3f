/** `keel slo list|status|series|alerts|backfill|evaluate|delete` and `keel export prometheus-rules`. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { time } from '../args.js';
import { answer, clientOf, globals } from '../context.js';
import { fitSeriesStep } from '../series-step.js';
import { printJson, printTable, progress, progressDone } from '../output.js';

interface ObjectiveStatus {
  name: string;
  target: number;
  sli: number | null;
  events: { good: number; bad: number; total: number };
  slices?: { good: number; bad: number; total: number };
  errorBudget: { unit: string; total: number; consumed: number; remaining: number; remainingPercent: number; consumedPercent: number };
  burnRates: { window: string; burnRate: number; badEvents: number; totalEvents: number }[];
  forecast: { window: string; burnRate: number; exhausted: boolean; exhaustsAt: string | null; exhaustsInSeconds: number | null };
  topBreakdown?: { values: Record<string, string>; badEvents: number; totalEvents: number; badRatio: number; lift: number }[];
  breakdownBaseline?: { badRatio: number | null };
  breakdownOther?: { badEvents: number; totalEvents: number; badShare: number };
}

interface Status {
  name: string;
  displayName?: string;
  service: string;
  budgetingMethod: string;
  window: { duration: string; rolling: boolean; start: string; end: string; calendar?: { startTime: string; timeZone: string }; coverage?: { from: string; percent: number; complete: boolean } };
  objectives: ObjectiveStatus[];
  alerts: { objective: number; policy: string; severity: string; status: string; since: string }[];
  backfill: Backfill;
  warnings: string[];
}

interface Backfill {
  state: string;
  percent: number;
  events: number;
}

const pct = (v: number | null, digits = 4) => (v === null ? '-' : `${(v * 100).toFixed(digits).replace(/\.?0+$/, '')}%`);
const num = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: 2 }));

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${Math.floor(seconds % 60)}s`;
}

function printStatus(s: Status): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const w = s.window;
  out(`SLO ${s.name}${s.displayName ? ` (${s.displayName})` : ''}  service ${s.service}  ${s.budgetingMethod}`);
  out(`window: ${w.rolling ? `rolling ${w.duration}` : `calendar ${w.duration} from ${w.calendar?.startTime} ${w.calendar?.timeZone}`}, ${w.start} .. ${w.end}`);
  if (w.coverage && !w.coverage.complete)
    out(`history: events from ${w.coverage.from} only, ${w.coverage.percent}% of the window (Keel holds no older events for this SLO: the SLI and budget cover only this part of the window)`);
  for (const o of s.objectives) {
    out();
    out(`objective ${o.name}: target ${pct(o.target)}, SLI ${pct(o.sli)}`);
    out(`  events: ${num(o.events.good)} good, ${num(o.events.bad)} bad, ${num(o.events.total)} total`);
    if (o.slices) out(`  slices: ${num(o.slices.good)} good, ${num(o.slices.bad)} bad, ${num(o.slices.total)} total`);
    const b = o.errorBudget;
    out(`  error budget: ${num(b.total)} ${b.unit}; consumed ${num(b.consumed)} (${b.consumedPercent}%), remaining ${num(b.remaining)} (${b.remainingPercent}%)`);
    out(`  burn rate: ${o.burnRates.map((r) => `${r.window} ${r.burnRate.toFixed(2)}x`).join('  ')}`);
    const f = o.forecast;
    out(
      `  forecast: ${
        f.exhausted
          ? 'budget exhausted'
          : f.exhaustsAt
            ? `at the ${f.window} burn rate (${f.burnRate.toFixed(2)}x) the budget runs out in ${duration(f.exhaustsInSeconds ?? 0)} (${f.exhaustsAt})`
            : `not exhausted at the ${f.window} burn rate (${f.burnRate.toFixed(2)}x)${w.rolling ? '' : ' before the period ends'}`
      }`,
    );
    if (o.topBreakdown?.length) {
      out(`  failing most (bad ratio against the SLO's ${pct(o.breakdownBaseline?.badRatio ?? null, 2)}):`);
      for (const t of o.topBreakdown) {
        out(
          `    ${Object.entries(t.values)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}: ${pct(t.badRatio, 2)} bad (${num(t.badEvents)} of ${num(t.totalEvents)}, ${t.lift.toFixed(1)}x)`,
        );
      }
    }
    if (o.breakdownOther && o.breakdownOther.badEvents > 0) {
      out(`  __other__ (combinations past the cap): ${num(o.breakdownOther.badEvents)} bad of ${num(o.breakdownOther.totalEvents)}, ${pct(o.breakdownOther.badShare, 2)} of the bad events`);
    }
  }
  out();
  if (s.alerts.length === 0) out('alerts: none evaluated yet');
  for (const a of s.alerts) out(`alert ${a.policy}/${a.severity}${s.objectives.length > 1 ? ` (objective ${a.objective})` : ''}: ${a.status.toUpperCase()} since ${a.since}`);
  out(`backfill: ${s.backfill.state}${s.backfill.state === 'done' ? '' : ` ${s.backfill.percent}%`} (${num(s.backfill.events)} events)`);
  for (const warning of s.warnings) process.stderr.write(`warning: ${warning}\n`);
}

export function registerSlo(program: Command): void {
  const slo = program.command('slo').description('Service level objectives: status, error budgets, burn rates, alerts, backfill');

  slo
    .command('list')
    .description('List SLOs with SLI, budget remaining and firing alerts')
    .option('--json', 'machine-readable output')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{
        slos: {
          name: string;
          service: string;
          window: string;
          budgetingMethod: string;
          objectives: { name: string; target: number; sli: number | null; budgetRemainingPercent: number }[];
          firing: string[];
          backfill: Backfill;
        }[];
      }>('GET', '/v1/slos');
      if (globals(cmd).json) return printJson(res);
      printTable(
        res.slos.flatMap((s) =>
          s.objectives.map((o) => ({
            name: s.name,
            service: s.service,
            objective: o.name,
            target: pct(o.target),
            sli: pct(o.sli),
            budget: `${o.budgetRemainingPercent}%`,
            window: s.window,
            alerts: s.firing.length ? s.firing.join(',') : 'ok',
            backfill: s.backfill.state === 'done' ? 'done' : `${s.backfill.state} ${s.backfill.percent}%`,
          })),
        ),
        ['name', 'service', 'objective', 'target', 'sli', 'budget', 'window', 'alerts', 'backfill'],
      );
    });

  slo
    .command('status')
    .description('SLI, error budget (events and %), burn rate per alert window, forecast, top breakdown values, alerts')
    .argument('<name>', 'SLO name')
    .option('--json', 'machine-readable output')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const s = await clientOf(cmd).call<Status>('GET', `/v1/slos/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(s);
      printStatus(s);
    });

  slo
    .command('series')
    .description('SLI, budget remaining and burn rates over time')
    .argument('<name>', 'SLO name')
    .option('--from <time>', 'start (a date, RFC 3339, epoch ms, 7d or now-1h; default 24 hours ago)', time)
    .option('--to <time>', 'end (default now)', time)
    .option('--step <duration>', 'distance between points, whole minutes (e.g. 5m, 1h)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { from?: string; to?: string; step?: string }, cmd: Command) => {
      const fitted = fitSeriesStep(opts, Date.now());
      if (fitted.note) process.stderr.write(`note: ${fitted.note}\n`);
      const res = await clientOf(cmd).call<{ objectives: { name: string; points: { t: string; sli: number | null; budgetRemaining: number; burnRates: Record<string, number> }[] }[] }>(
        'GET',
        `/v1/slos/${encodeURIComponent(name)}/series`,
        { query: { from: opts.from, to: opts.to, step: fitted.step } },
      );
      if (globals(cmd).json) return printJson(res);
      for (const o of res.objectives) {
        process.stdout.write(`objective ${o.name}\n`);
        const windows = Object.keys(o.points[0]?.burnRates ?? {});
        printTable(
          o.points.map((p) => ({ t: p.t, sli: pct(p.sli), budget: pct(p.budgetRemaining, 2), ...Object.fromEntries(windows.map((w) => [`burn ${w}`, p.burnRates[w]?.toFixed(2)])) })),
          ['t', 'sli', 'budget', ...windows.map((w) => `burn ${w}`)],
        );
      }
    });

  slo
    .command('alerts')
    .description('Burn-rate alert state and transitions with the values that caused them')
    .argument('<name>', 'SLO name')
    .option('-l, --limit <n>', 'transitions to show', (v) => Number(v), 20)
    .option('--json', 'machine-readable output')
    .action(async (name: string, opts: { limit: number }, cmd: Command) => {
      const res = await clientOf(cmd).call<{
        alerts: { policy: string; severity: string; status: string; since: string; dedupKey: string }[];
        transitions: {
          dedupKey: string;
          status: string;
          at: string;
          values: { conditions?: { name: string; burnRateLong: number; burnRateShort: number; longWindow: string; shortWindow: string }[] };
        }[];
      }>('GET', `/v1/slos/${encodeURIComponent(name)}/alerts`, { query: { limit: opts.limit } });
      if (globals(cmd).json) return printJson(res);
      printTable(res.alerts, ['policy', 'severity', 'status', 'since', 'dedupKey']);
      process.stdout.write('\ntransitions (newest first):\n');
      for (const t of res.transitions) {
        const why = (t.values.conditions ?? []).map((c) => `${c.name}: ${c.burnRateLong.toFixed(2)}x/${c.longWindow}, ${c.burnRateShort.toFixed(2)}x/${c.shortWindow}`).join('; ');
        // The dedup key, as the alert list above and `keel paging alerts` name the alert.
        process.stdout.write(`  ${t.at}  ${t.dedupKey}  ${t.status}${why ? `  (${why})` : ''}\n`);
      }
    });

  const backfill = slo.command('backfill').description('Recomputation of new or changed SLOs from the retained event log');
  backfill
    .command('status')
    .description('Backfill progress of every SLO (or one); --watch follows it until done')
    .argument('[name]', 'SLO name')
    .option('-w, --watch', 'refresh every second until every backfill is done')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, opts: { watch?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const path = name ? `/v1/slos/${encodeURIComponent(name)}/backfill` : '/v1/slo-backfills';
      for (;;) {
        const res = await client.call<{ backfills: (Backfill & { slo: string })[] }>('GET', path);
        const pending = res.backfills.filter((b) => b.state !== 'done');
        if (!opts.watch || pending.length === 0) {
          if (opts.watch) progressDone();
          if (globals(cmd).json) return printJson(res);
          return printTable(
            res.backfills.map((b) => ({ slo: b.slo, state: b.state, percent: `${b.percent}%`, events: b.events })),
            ['slo', 'state', 'percent', 'events'],
          );
        }
        progress(`backfilling: ${pending.map((b) => `${b.slo} ${b.percent}% (${num(b.events)} events)`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

  slo
    .command('evaluate')
    .description("Evaluate your tenant's burn-rate alerts now instead of waiting for the next round")
    .option('--json', 'machine-readable output')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call<{ evaluated: number; transitions: number }>('POST', '/v1/slo-evaluations');
      if (globals(cmd).json) return printJson(res);
      process.stdout.write(`evaluated ${res.evaluated} SLO(s); ${res.transitions} alert transition(s)\n`);
    });

  slo
    .command('delete')
    .description('Delete an SLO (its alerts resolve; its counters are pruned)')
    .argument('<name>', 'SLO name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const res = await clientOf(cmd).call('DELETE', `/v1/slos/${encodeURIComponent(name)}`);
      answer(cmd, res ?? { deleted: `SLO/${name}` }, () => process.stdout.write(`deleted SLO/${name}\n`));
    });

  const exp = program.command('export').description('Export Keel configuration for other tools');
  exp
    .command('prometheus-rules')
    .description('SLOs as Prometheus recording and alerting rules over keel_slo_events_total (passes promtool check rules)')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const text = await clientOf(cmd).call<string>('GET', '/v1/export/prometheus-rules');
      if (opts.output) {
        writeFileSync(opts.output, text);
        process.stderr.write(`wrote ${opts.output}\n`);
      } else process.stdout.write(text);
    });
}
