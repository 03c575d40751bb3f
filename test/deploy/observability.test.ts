/**
 * Keel's alerts about itself (deploy/prometheus/keel-alerts.yaml) and its Grafana dashboard
 * (deploy/grafana/keel.json): promtool accepts the rules (--lint-fatal) and their unit tests pass,
 * every alert links to a runbook that exists, and every Keel metric the rules and the dashboard
 * query is one that running Keel processes (embedded and every distributed role) export.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ROOT } from './support/manifests.js';
import { startAndScrape, type LiveKeel } from './support/live-metrics.js';

const run = promisify(execFile);
const RULES = join(ROOT, 'deploy/prometheus/keel-alerts.yaml');
const DASHBOARD = join(ROOT, 'deploy/grafana/keel.json');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; legendFormat: string }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string }[] } };
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Keel metric names a PromQL expression reads; histogram series (_bucket/_sum/_count) by their family. */
function keelMetrics(expr: string, families: Set<string>): string[] {
  return [...expr.matchAll(/\b(keel_[a-z0-9_]+)/g)].map(([, name]) => {
    const family = name!.replace(/_(bucket|sum|count)$/, '');
    return family !== name && families.has(family) ? family : name!;
  });
}

/** Grafana's variables replaced by what they become at query time, so promtool can parse the query. */
function concrete(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*');
}

async function promtool(args: string[]): Promise<{ code: number; out: string }> {
  return run('promtool', args).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('Prometheus rules about Keel', () => {
  it('pass promtool check rules --lint-fatal', async () => {
    const r = await promtool(['check', 'rules', '--lint-fatal', RULES]);
    expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.code).toBe(0);
  });

  it('pass their promtool unit tests (lag counted once across pods, leader loss, failing channel, refusing ingest, certificate expiry, broken audit chain)', async () => {
    const r = await promtool(['test', 'rules', join(ROOT, 'deploy/prometheus/keel-alerts.test.yaml')]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('every alert has a severity, a summary and a runbook under docs/runbooks/ that exists and names it', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'KeelIngestRefusing',
        'KeelDataDiskFilling',
        'KeelConsumerLagHigh',
        'KeelLeaderLost',
        'KeelNotificationChannelFailing',
        'KeelAuditChainBroken',
        'KeelCertificateExpiring',
      ]),
    );
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.runbook_url, r.alert).toMatch(/^docs\/runbooks\/[a-z-]+\.md$/);
      const page = join(ROOT, r.annotations.runbook_url!);
      expect(existsSync(page), `${r.alert}: ${r.annotations.runbook_url}`).toBe(true);
      expect(readFileSync(page, 'utf8'), `${r.alert} is named in its runbook`).toContain(r.alert);
    }
  });
});

describe('Grafana dashboard', () => {
  it('is importable dashboard JSON: unique panel ids, a Prometheus datasource variable, queries on every graph', () => {
    expect(dashboard).toMatchObject({ uid: 'keel-overview', title: 'Keel' });
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Ingest', 'Event log and processing', 'SLOs', 'Paging']);
  });

  it('is the file scripts/grafana-dashboard.mjs generates', async () => {
    await run('node', [join(ROOT, 'scripts/grafana-dashboard.mjs'), '--check']);
  });

  it('every query is valid PromQL (promtool parses each as a recording rule)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-dashboard-'));
    try {
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: dashboardExprs.map((e, i) => ({ record: `keel_dashboard_query_${i}`, expr: concrete(e) })) }] }));
      const r = await promtool(['check', 'rules', file]);
      expect(r.out).toContain(`SUCCESS: ${dashboardExprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics queried exist in /metrics of a running Keel', () => {
  let live: LiveKeel;
  let exported: Set<string>;
  beforeAll(async () => {
    live = await startAndScrape();
    exported = new Set([...live.scrapes.values()].flatMap((s) => [...s.families]));
  }, 180_000);
  afterAll(async () => live?.stop());

  it('every Keel metric of the alert rules', () => {
    for (const r of rules) for (const m of keelMetrics(r.expr, exported)) expect(exported, `${r.alert} reads ${m}`).toContain(m);
  });

  it('every Keel metric of the dashboard, and the dashboard covers ingest, lag, SLOs and paging', () => {
    const used = new Set(dashboardExprs.flatMap((e) => keelMetrics(e, exported)));
    for (const m of used) expect(exported, `the dashboard queries ${m}`).toContain(m);
    expect([...used]).toEqual(expect.arrayContaining(['keel_ingest_events_total', 'keel_log_consumer_lag_events', 'keel_slo_events_total', 'keel_pages_total', 'keel_notifications_total']));
  });

  it('a misspelt metric would be caught', () => {
    expect(keelMetrics('rate(keel_ingest_event_total[5m])', exported).every((m) => exported.has(m))).toBe(false);
  });
});
