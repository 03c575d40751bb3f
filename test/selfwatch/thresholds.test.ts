/**
 * The alerts Keel raises about itself use the thresholds of the Prometheus rules it exports: this
 * reads deploy/prometheus/keel-alerts.yaml and checks each alert's severity, `for`, runbook and the
 * numbers in its expression against src/selfwatch/thresholds.ts (the numbers below are read off
 * the rules file by hand). Plus the pure parts: predict_linear, the disk condition, `for`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SELF_SLOS, resolveSelfSlos, selfDefinitionsYaml } from '../../src/selfwatch/definitions.js';
import { loadConfig } from '../../src/core/config.js';
import {
  AUDIT_CHAIN_BROKEN,
  CERTIFICATE_EXPIRING,
  CONSUMER_LAG,
  DISK_FILLING,
  ForTracker,
  LEADER_LOST,
  NOTIFICATION_CHANNEL_FAILING,
  RUNBOOK_WAITING_FOR_DECISION,
  SELF_ALERT_RULES,
  diskFilling,
  predictLinear,
} from '../../src/selfwatch/thresholds.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { runbook_url: string };
}
const rules = new Map<string, Rule>();
for (const g of (parse(readFileSync(new URL('../../deploy/prometheus/keel-alerts.yaml', import.meta.url), 'utf8')) as { groups: { rules: Rule[] }[] }).groups) {
  for (const r of g.rules) rules.set(r.alert, r);
}
const MIN = 60_000;

describe('alerts about Keel: the same thresholds as the exported Prometheus rules', () => {
  it.each(SELF_ALERT_RULES.map((r) => [r.alert, r] as const))('%s: severity, for and runbook', (name, rule) => {
    const prom = rules.get(name);
    expect(prom, `${name} is in deploy/prometheus/keel-alerts.yaml`).toBeDefined();
    expect(rule.severity).toBe(prom!.labels.severity);
    expect(rule.forMs).toBe(prom!.for === undefined ? 0 : { '30m': 30 * MIN, '10m': 10 * MIN, '2m': 2 * MIN, '1h': 60 * MIN }[prom!.for]);
    expect(`docs/runbooks/${rule.runbook}`).toBe(prom!.annotations.runbook_url);
  });

  it('the numbers in each expression', () => {
    // Each regex pins the number of the rule; the table's value must be that number.
    const num = (alert: string, re: RegExp): number => Number(re.exec(rules.get(alert)!.expr.replace(/\s+/g, ' ').trim())?.[1]);
    expect(DISK_FILLING.freeRatioBelow).toBe(num('KeelDataDiskFilling', /keel_data_dir_size_bytes < ([\d.]+)/));
    expect(DISK_FILLING.trendWindowMs).toBe(num('KeelDataDiskFilling', /keel_data_dir_free_bytes\[(\d+)h\]/) * 60 * MIN);
    expect(DISK_FILLING.fullWithinMs).toBe(num('KeelDataDiskFilling', /, (\d+) \* 3600\)/) * 60 * MIN);
    expect(CONSUMER_LAG.lagEventsAbove).toBe(num('KeelConsumerLagHigh', /> (\d+)$/));
    expect(NOTIFICATION_CHANNEL_FAILING.failedRatioAbove).toBe(num('KeelNotificationChannelFailing', /> ([\d.]+)$/));
    expect(NOTIFICATION_CHANNEL_FAILING.windowMs).toBe(num('KeelNotificationChannelFailing', /outcome="failed"\}\[(\d+)m\]/) * MIN);
    expect(CERTIFICATE_EXPIRING.expiresWithinMs).toBe(num('KeelCertificateExpiring', /< (\d+) \* 86400/) * 24 * 60 * MIN);
    expect(rules.get('KeelLeaderLost')!.expr).toContain('== 0');
    expect(rules.get('KeelAuditChainBroken')!.expr).toContain('== 0');
    expect(rules.get('KeelRunbookWaitingForDecision')!.expr).toBe('max by (namespace, tenant) (keel_runbook_runs_waiting{for="decision"}) > 0');
    expect([LEADER_LOST.alert, AUDIT_CHAIN_BROKEN.alert, RUNBOOK_WAITING_FOR_DECISION.alert]).toEqual(['KeelLeaderLost', 'KeelAuditChainBroken', 'KeelRunbookWaitingForDecision']);
  });
});

describe('predict_linear and the disk condition', () => {
  it('extrapolates the least-squares line', () => {
    // 100, 90, 80 at t = 0, 10, 20 s: 1 byte per second down; at 20 s + 30 s: 50.
    const s = [
      { at: 0, value: 100 },
      { at: 10_000, value: 90 },
      { at: 20_000, value: 80 },
    ];
    expect(predictLinear(s, 20_000, 30_000)).toBeCloseTo(50, 9);
    // Noisy: 10, 14, 10, 14 at 0..3 s: slope 0.8/s, mean 12 at 1.5 s -> at 3 s + 2 s: 12 + 0.8 * 3.5 = 14.8.
    const noisy = [10, 14, 10, 14].map((value, i) => ({ at: i * 1000, value }));
    expect(predictLinear(noisy, 3000, 2000)).toBeCloseTo(14.8, 9);
    expect(predictLinear([{ at: 0, value: 1 }], 0, 1)).toBeUndefined();
    expect(
      predictLinear(
        [
          { at: 5, value: 1 },
          { at: 5, value: 2 },
        ],
        5,
        1,
      ),
    ).toBeUndefined();
  });

  it('fires only with under a quarter free AND full within a day on the 6 h trend', () => {
    const H = 3_600_000;
    const size = 1000;
    // 200 free (20 %), losing 10 per hour: empty in 20 h -> fires.
    const falling = [0, 1, 2].map((h) => ({ at: h * H, free: 220 - 10 * h }));
    expect(diskFilling(falling, size, 2 * H)).toBe(true);
    // Same fall, but 30 % free: not yet.
    expect(
      diskFilling(
        falling.map((s) => ({ ...s, free: s.free + 100 })),
        size,
        2 * H,
      ),
    ).toBe(false);
    // 20 % free, losing 5 per hour: 40 h left -> no.
    expect(
      diskFilling(
        [0, 1, 2].map((h) => ({ at: h * H, free: 210 - 5 * h })),
        size,
        2 * H,
      ),
    ).toBe(false);
    // A fast fall older than 6 h is not the trend: flat over the last 6 h -> no.
    const old = [
      { at: 0, free: 900 },
      { at: 7 * H, free: 200 },
      { at: 8 * H, free: 200 },
      { at: 9 * H, free: 200 },
    ];
    expect(diskFilling(old, size, 9 * H)).toBe(false);
  });

  it('`for` waits without a break', () => {
    const t = new ForTracker();
    expect(t.update('a', true, 1000, 0)).toBe(false);
    expect(t.update('a', true, 1000, 999)).toBe(false);
    expect(t.update('a', true, 1000, 1000)).toBe(true);
    expect(t.update('a', false, 1000, 1001)).toBe(false);
    expect(t.update('a', true, 1000, 1500)).toBe(false);
    expect(t.update('a', true, 1000, 2500)).toBe(true);
    expect(t.update('b', true, 0, 7)).toBe(true);
  });
});

describe('the built-in SLO definitions', () => {
  it('apply the overrides of the configuration', () => {
    const config = loadConfig({ env: {}, overrides: { 'selfMonitoring.slos': { 'ingest-latency': { target: 0.9, thresholdMs: 300 }, 'notification-latency': { enabled: false } } } });
    const slos = resolveSelfSlos(config.selfMonitoring);
    expect(slos.map((s) => [s.name, s.enabled, s.target, s.thresholdMs])).toEqual([
      ['ingest-availability', true, 0.999, undefined],
      ['ingest-latency', true, 0.9, 300],
      ['processing-freshness', true, 0.99, 60_000],
      ['notification-delivery', true, 0.99, undefined],
      ['notification-latency', false, 0.95, 60_000],
    ]);
    const yaml = selfDefinitionsYaml(slos, { runbookBaseUrl: 'https://docs.example.com/runbooks' });
    const docs = yaml.split('\n---\n').map((d) => parse(d) as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, unknown> });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Service/keel', 'SLO/ingest-availability', 'SLO/ingest-latency', 'SLO/processing-freshness', 'SLO/notification-delivery']);
    expect(docs[0]!.spec.escalationPolicy).toBeUndefined();
    expect(docs[2]!.metadata.annotations).toEqual({ runbook_url: 'https://docs.example.com/runbooks/ingest-refusing.md' });
    expect(JSON.stringify(docs[2]!.spec)).toContain('"query":"latency_ms <= 300"');
    expect(selfDefinitionsYaml(slos, { runbookBaseUrl: 'docs/runbooks/', escalationPolicy: 'oncall' })).toContain('  escalationPolicy: oncall\n');
  });

  it('config refuses an unknown SLO name and a target of 1', () => {
    expect(() => loadConfig({ env: {}, overrides: { 'selfMonitoring.slos': { 'ingest-avail': { target: 0.9 } } } })).toThrow(/selfMonitoring.slos: unknown field\(s\): ingest-avail/);
    expect(() => loadConfig({ env: {}, overrides: { 'selfMonitoring.slos': { 'ingest-availability': { target: 1 } } } })).toThrow(/selfMonitoring.slos.ingest-availability.target/);
    expect(SELF_SLOS).toHaveLength(5);
  });
});
