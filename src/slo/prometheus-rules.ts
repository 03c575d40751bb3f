/**
 * The same SLOs as Prometheus recording and alerting rules over Keel's exported counter
 * `keel_slo_events_total{tenant,slo,objective,good}`, for teams that alert from Prometheus. The
 * rules mirror Keel's policies (windows, factors, severities, the bad-event floor, alertAfter as
 * `for`). Prometheus sees events when Keel counts them, not by event time, and computes
 * Timeslices SLOs from event ratios; Keel's own evaluator is exact on both counts.
 */
import YAML from 'yaml';
import { formatDuration } from './durations.js';
import type { Generation } from './generations.js';
import { SLO_EVENTS_METRIC } from './metrics.js';
import type { CompareOp } from './model.js';
import { windowLength } from './resolve.js';

const PROM_OP: Record<CompareOp, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

const q = (s: string) => JSON.stringify(s);

export function prometheusRules(tenant: string, gens: Generation[], defaultMinBadEvents: number): string {
  const groups = gens.map((g) => {
    const rules: Record<string, unknown>[] = [];
    // Every rule carries the SLO's labels (as Sloth does): the same record name in two SLOs' groups
    // is then two rules, not the duplicate `promtool check rules --lint-fatal` refuses.
    const sloLabels = { tenant, slo: g.name };
    const period = windowLength(g.slo.window);
    const windows = new Set<number>([period]);
    for (const p of g.slo.policies) for (const c of p.conditions) windows.add(c.longMs).add(c.shortMs);
    const sel = (extra = '') => `${SLO_EVENTS_METRIC}{tenant=${q(tenant)},slo=${q(g.name)}${extra}}`;
    const by = 'sum by (tenant, slo, objective)';
    for (const ms of [...windows].sort((a, b) => a - b)) {
      const w = formatDuration(ms);
      const labels = { ...sloLabels, window: w };
      rules.push({
        record: `keel_slo:error_ratio:rate${w}`,
        expr: `${by} (rate(${sel(',good="false"')}[${w}]))\n/\n${by} (rate(${sel()}[${w}]))`,
        labels,
      });
      rules.push({ record: `keel_slo:bad_events:increase${w}`, expr: `${by} (increase(${sel(',good="false"')}[${w}]))`, labels });
      rules.push({ record: `keel_slo:events:increase${w}`, expr: `${by} (increase(${sel()}[${w}]))`, labels });
    }
    const pw = formatDuration(period);
    g.slo.objectives.forEach((o, i) => {
      const objLabels = { ...sloLabels, objective: String(i) };
      const labels = `{tenant=${q(tenant)},slo=${q(g.name)},objective="${i}"}`;
      // Period rules, for Sloth/Pyrra-style dashboards: the objective, its error budget, and the
      // burn and budget remaining over the SLO's own window (a calendar window is approximated by
      // a rolling one of its nominal length: Prometheus has no calendar).
      rules.push({ record: 'keel_slo:objective:ratio', expr: `vector(${o.target})`, labels: objLabels });
      const budget = Number((1 - o.target).toPrecision(12));
      rules.push({ record: 'keel_slo:error_budget:ratio', expr: `vector(${budget})`, labels: objLabels });
      rules.push({ record: 'keel_slo:period_burn_rate:ratio', expr: `keel_slo:error_ratio:rate${pw}${labels} / ${budget}`, labels: { ...objLabels, window: pw } });
      rules.push({ record: 'keel_slo:period_error_budget_remaining:ratio', expr: `1 - keel_slo:period_burn_rate:ratio${labels}`, labels: { ...objLabels, window: pw } });
      for (const p of g.slo.policies) {
        const floor = p.minBadEvents ?? defaultMinBadEvents;
        for (const c of p.conditions) {
          const long = formatDuration(c.longMs);
          const short = formatDuration(c.shortMs);
          const limit = c.threshold * (1 - o.target);
          const rising = c.op === 'gt' || c.op === 'gte';
          const parts: string[] = [];
          if (p.alertWhenBreaching) {
            const clauses = [`keel_slo:error_ratio:rate${long}${labels} ${PROM_OP[c.op]} ${limit}`, `keel_slo:error_ratio:rate${short}${labels} ${PROM_OP[c.op]} ${limit}`];
            if (rising) clauses.push(`keel_slo:bad_events:increase${long}${labels} >= ${floor}`, `keel_slo:bad_events:increase${short}${labels} >= ${floor}`);
            parts.push(`(\n  ${clauses.join('\n  and ')}\n)`);
          }
          if (p.alertWhenNoData) parts.push(`(keel_slo:events:increase${long}${labels} == 0)`);
          if (parts.length === 0) continue;
          rules.push({
            alert: 'KeelSLOBurnRate',
            expr: parts.join('\nor\n'),
            ...(c.alertAfterMs > 0 ? { for: formatDuration(c.alertAfterMs) } : {}),
            // The threshold tells apart conditions whose scaled windows coincide (a 1 h SLO's two page rules are both 1m/1m).
            labels: { severity: c.severity, tenant, slo: g.name, objective: String(i), policy: p.name, condition: c.name, threshold: String(c.threshold), service: g.slo.service },
            annotations: {
              summary: `SLO ${g.slo.displayName ?? g.name} is burning its error budget (${c.severity})`,
              description: `Burn rate ${PROM_OP[c.op]} ${c.threshold} over ${long} and ${short} for objective ${o.name} (target ${o.target}); at least ${floor} bad events per window.${
                g.slo.method !== 'Occurrences' ? ' This SLO budgets time slices; Prometheus approximates it with event ratios.' : ''
              }`,
            },
          });
        }
      }
    });
    return { name: `keel-slo-${tenant}-${g.name}`, rules };
  });
  return YAML.stringify({ groups }, { lineWidth: 0 });
}
