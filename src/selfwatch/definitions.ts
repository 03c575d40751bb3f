/**
 * Keel's own SLOs as code: the Service and OpenSLO SLOs applied to the reserved `keel-system`
 * tenant at every start (docs/self-monitoring.md). They are ordinary definitions, versioned like
 * any other (`keel history SLO ingest-availability` with a key of that tenant), evaluated by the
 * same fold, windows and burn-rate alerts as every tenant's SLOs: there is no second SLO engine.
 * Their events are the outcomes Keel records about itself (recorder.ts), one per request, batch
 * or notification, with `signal` saying which. Pure: the configuration in, documents out.
 */
import type { KeelConfig } from '../core/config.js';

/** The reserved tenant holding Keel's own outcomes, SLOs, alerts and incidents. */
export const SELF_TENANT = 'keel-system';
/** The Service Keel's own SLOs and alerts belong to. */
export const SELF_SERVICE = 'keel';
/** Who the built-in definitions' versions name. */
export const SELF_ACTOR = 'system:self-monitoring';
/** The source file name the built-in definitions carry (errors and versions show it). */
export const SELF_SOURCE = 'keel-builtin/self-monitoring.yaml';

export type SelfSloName = keyof KeelConfig['selfMonitoring']['slos'];

export interface SelfSlo {
  name: SelfSloName;
  description: string;
  /** CEL: which self events count. */
  total: string;
  /** CEL: which of them are good; `{threshold}` is replaced by the threshold in ms. */
  good: string;
  target: number;
  /** Latency bound (ms) for latency and freshness SLOs. */
  thresholdMs?: number;
  /** Runbook page under docs/runbooks/. */
  runbook: string;
}

/**
 * The defaults. Availability counts every answer of `POST /v1/events` (a 4xx is the client's
 * mistake, not Keel failing); latency counts the 202 answers, from the request's arrival to the
 * answer sent after the events were durable; freshness is from the 202 to the SLO counters
 * holding the batch; notification delivery counts final outcomes (sent or failed after every
 * retry; a page canceled because the incident was acknowledged is neither).
 */
export const SELF_SLOS: readonly SelfSlo[] = [
  {
    name: 'ingest-availability',
    description: 'POST /v1/events answers without a 5xx (503 overloaded or unavailable included)',
    total: 'signal == "ingest"',
    good: 'status < 500',
    target: 0.999,
    runbook: 'ingest-refusing.md',
  },
  {
    name: 'ingest-latency',
    description: 'Accepted batches are acknowledged (durable, 202) within the threshold',
    total: 'signal == "ingest" && status == 202',
    good: 'latency_ms <= {threshold}',
    target: 0.99,
    thresholdMs: 1_000,
    runbook: 'ingest-refusing.md',
  },
  {
    name: 'processing-freshness',
    description: 'Acknowledged batches are counted into SLOs within the threshold of their 202',
    total: 'signal == "freshness"',
    good: 'lag_ms <= {threshold}',
    target: 0.99,
    thresholdMs: 60_000,
    runbook: 'consumer-lag.md',
  },
  {
    name: 'notification-delivery',
    description: 'Notifications are delivered (after retries) rather than failing',
    total: 'signal == "notification" && outcome != "canceled"',
    good: 'outcome == "sent"',
    target: 0.99,
    runbook: 'notification-channel-failing.md',
  },
  {
    name: 'notification-latency',
    description: 'Delivered notifications leave Keel within the threshold of being queued',
    total: 'signal == "notification" && outcome == "sent"',
    good: 'latency_ms <= {threshold}',
    target: 0.95,
    thresholdMs: 60_000,
    runbook: 'notification-channel-failing.md',
  },
];

export interface ResolvedSelfSlo extends SelfSlo {
  enabled: boolean;
}

/** The built-in SLOs with the configuration's overrides applied. */
export function resolveSelfSlos(config: KeelConfig['selfMonitoring']): ResolvedSelfSlo[] {
  return SELF_SLOS.map((s) => {
    const o = config.slos[s.name] ?? {};
    return {
      ...s,
      enabled: config.enabled && o.enabled !== false,
      target: o.target ?? s.target,
      ...(s.thresholdMs !== undefined ? { thresholdMs: o.thresholdMs ?? s.thresholdMs } : {}),
    };
  });
}

/** A runbook link: the configured prefix and the page. */
export function runbookUrl(base: string, page: string): string {
  return `${base.endsWith('/') ? base : `${base}/`}${page}`;
}

/**
 * The YAML of the built-in Service and the enabled SLOs. `escalationPolicy` is set only when the
 * policy exists in the tenant (a reference to a missing one would refuse the whole apply).
 */
export function selfDefinitionsYaml(slos: ResolvedSelfSlo[], options: { escalationPolicy?: string | undefined; runbookBaseUrl: string }): string {
  const docs: string[] = [
    [
      'apiVersion: keel/v1',
      'kind: Service',
      'metadata:',
      `  name: ${SELF_SERVICE}`,
      'spec:',
      '  description: Keel itself (built in; docs/self-monitoring.md)',
      // One incident per burning SLO and per alert about Keel: different failures, different fixes.
      '  alertGrouping: {by: [slo, alertname]}',
      ...(options.escalationPolicy ? [`  escalationPolicy: ${options.escalationPolicy}`] : []),
    ].join('\n'),
  ];
  for (const s of slos.filter((x) => x.enabled)) {
    const good = s.good.replace('{threshold}', String(s.thresholdMs ?? 0));
    const runbook = runbookUrl(options.runbookBaseUrl, s.runbook);
    docs.push(
      [
        'apiVersion: openslo/v1',
        'kind: SLO',
        'metadata:',
        `  name: ${s.name}`,
        ...(/^https?:\/\//i.test(runbook) ? ['  annotations:', `    runbook_url: ${JSON.stringify(runbook)}`] : []),
        'spec:',
        `  description: ${JSON.stringify(s.description)}`,
        `  service: ${SELF_SERVICE}`,
        '  indicator:',
        '    metadata:',
        `      name: ${s.name}`,
        '    spec:',
        '      ratioMetric:',
        '        counter: true',
        '        total:',
        '          metricSource:',
        '            type: keel',
        `            spec: {query: ${JSON.stringify(s.total)}}`,
        '        good:',
        '          metricSource:',
        '            type: keel',
        `            spec: {query: ${JSON.stringify(good)}}`,
        '  timeWindow:',
        '    - duration: 30d',
        '      isRolling: true',
        '  budgetingMethod: Occurrences',
        '  objectives:',
        `    - target: ${s.target}`,
      ].join('\n'),
    );
  }
  return `${docs.join('\n---\n')}\n`;
}
