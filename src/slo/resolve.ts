/**
 * Follows an SLO's references (SLI, alert policies, their conditions and notification targets)
 * through the other definitions and produces its `ResolvedSlo`. Used by validation (every dangling
 * reference is an error with its path) and by the sync that keeps generations up to date.
 */
import { createHash } from 'node:crypto';
import type { FieldError } from '../definitions/kinds.js';
import { DEFAULT_POLICY_NAME, defaultPolicy } from './default-policy.js';
import { parseOpenSloDuration } from './durations.js';
import type { ResolvedCondition, ResolvedIndicator, ResolvedObjective, ResolvedPolicy, ResolvedSlo } from './model.js';
import { DEFAULT_TIME_WINDOW, type AlertConditionBody, type AlertPolicyStored, type NotificationTargetBody, type SliSpecBody, type Stored, type StoredSlo } from './openslo.js';
import type { TimeWindow } from './windows.js';

export interface DefinitionLookup {
  get(kind: string, name: string): unknown;
}

export function resolveSlo(spec: StoredSlo, lookup: DefinitionLookup): { slo?: ResolvedSlo; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!lookup.get('Service', spec.service)) errors.push({ path: ['spec', 'service'], message: `no Service named "${spec.service}"` });
  let sli: Stored<SliSpecBody> | undefined = spec.indicator;
  if (spec.indicatorRef !== undefined) {
    sli = lookup.get('SLI', spec.indicatorRef) as Stored<SliSpecBody> | undefined;
    if (!sli) errors.push({ path: ['spec', 'indicatorRef'], message: `no SLI named "${spec.indicatorRef}"` });
  }
  const indicator = sli ? toIndicator(sli) : undefined;
  if (indicator) {
    spec.objectives.forEach((o, i) => {
      if (indicator.kind === 'ratio' && o.value !== undefined) {
        errors.push({ path: ['spec', 'objectives', i, 'value'], message: `value applies to a thresholdMetric SLI; ${indicator.name} is a ratioMetric` });
      }
      if (indicator.kind === 'threshold' && (o.op === undefined || o.value === undefined)) {
        errors.push({ path: ['spec', 'objectives', i], message: `${indicator.name} is a thresholdMetric SLI: the objective needs op and value` });
      }
    });
  }
  const window = toWindow(spec);
  const policies: ResolvedPolicy[] = [];
  if (!spec.alertPolicies || spec.alertPolicies.length === 0) policies.push(defaultPolicy(windowLength(window)));
  else {
    spec.alertPolicies.forEach((item, i) => {
      const at = ['spec', 'alertPolicies', i];
      let name: string;
      let body: AlertPolicyStored | undefined;
      if ('ref' in item) {
        name = item.ref;
        if (item.ref === DEFAULT_POLICY_NAME) {
          policies.push(defaultPolicy(windowLength(window)));
          return;
        }
        body = lookup.get('AlertPolicy', item.ref) as Stored<AlertPolicyStored> | undefined;
        if (!body) errors.push({ path: [...at, 'alertPolicyRef'], message: `no AlertPolicy named "${item.ref}"` });
      } else {
        name = item.inline.metadata.name;
        body = item.inline;
      }
      if (policies.some((p) => p.name === name)) errors.push({ path: at, message: `alert policy "${name}" is listed twice` });
      if (body) {
        const p = resolvePolicy(name, body, lookup, 'ref' in item ? [...at, 'alertPolicyRef'] : [...at, 'spec']);
        errors.push(...p.errors);
        if (p.policy) policies.push(p.policy);
      }
    });
  }
  if (errors.length > 0 || !indicator) return { errors };
  const objectives: ResolvedObjective[] = spec.objectives.map((o, i) => {
    const slice = o.timeSliceWindow === undefined ? undefined : parseOpenSloDuration(typeof o.timeSliceWindow === 'number' ? `${o.timeSliceWindow}s` : o.timeSliceWindow, ['s', 'm', 'h']);
    return {
      name: o.displayName ?? `objective-${i}`,
      ...(o.displayName ? { displayName: o.displayName } : {}),
      target: o.target ?? (o.targetPercent ?? 0) / 100,
      // A ratio objective's `op` (OpenSLO allows it) does not change good / total.
      ...(indicator.kind === 'threshold' && o.op !== undefined ? { op: o.op, value: o.value! } : {}),
      ...(o.timeSliceTarget !== undefined ? { timeSliceTarget: o.timeSliceTarget } : {}),
      ...(slice && typeof slice !== 'string' ? { timeSliceMs: slice.ms } : {}),
    };
  });
  return {
    errors,
    slo: {
      name: spec.metadata.name,
      ...(spec.metadata.displayName ? { displayName: spec.metadata.displayName } : {}),
      ...(spec.description ? { description: spec.description } : {}),
      service: spec.service,
      indicator,
      window,
      method: spec.budgetingMethod,
      objectives,
      breakdown: (spec.breakdown ?? []).map((b) => b.split('.')),
      policies,
    },
  };
}

/** Checks an AlertPolicy's references and resolves it (`at` locates refs in errors). */
export function resolvePolicy(name: string, body: AlertPolicyStored, lookup: DefinitionLookup, at: (string | number)[]): { policy?: ResolvedPolicy; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const conditions: ResolvedCondition[] = [];
  body.conditions.forEach((c, i) => {
    let cond: Stored<AlertConditionBody> | undefined;
    if ('ref' in c) {
      cond = lookup.get('AlertCondition', c.ref) as Stored<AlertConditionBody> | undefined;
      if (!cond) errors.push({ path: [...at, 'conditions', i, 'conditionRef'], message: `no AlertCondition named "${c.ref}" (used by AlertPolicy ${name})` });
    } else cond = c.inline;
    if (cond) conditions.push(toCondition(cond));
  });
  const targets = (body.notificationTargets ?? []).flatMap((t, i) => {
    if ('ref' in t) {
      const found = lookup.get('AlertNotificationTarget', t.ref) as Stored<NotificationTargetBody> | undefined;
      if (!found) {
        errors.push({ path: [...at, 'notificationTargets', i, 'targetRef'], message: `no AlertNotificationTarget named "${t.ref}" (used by AlertPolicy ${name})` });
        return [];
      }
      return [{ name: t.ref, target: found.target, ...(found.description ? { description: found.description } : {}) }];
    }
    return [{ name: t.inline.metadata.name, target: t.inline.target, ...(t.inline.description ? { description: t.inline.description } : {}) }];
  });
  if (errors.length) return { errors };
  return {
    errors,
    policy: {
      name,
      builtin: false,
      alertWhenNoData: body.alertWhenNoData ?? false,
      alertWhenResolved: body.alertWhenResolved ?? true,
      alertWhenBreaching: body.alertWhenBreaching ?? true,
      ...(body.minBadEvents !== undefined ? { minBadEvents: body.minBadEvents } : {}),
      conditions,
      notificationTargets: targets,
    },
  };
}

/**
 * OpenSLO's burnrate condition: burn rate over `lookbackWindow` compared with `threshold`, held for
 * `alertAfter`. As in the Workbook's multiwindow rules, the burn rate must also hold over a short
 * window (`shortWindow`, a Keel extension; default lookbackWindow / 12, at least a minute), so an
 * alert resolves soon after the burning stops.
 */
function toCondition(c: Stored<AlertConditionBody>): ResolvedCondition {
  const ms = (text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback;
    const d = parseOpenSloDuration(text, ['m', 'h', 'd', 'w']);
    return typeof d === 'string' ? fallback : d.ms;
  };
  const longMs = ms(c.condition.lookbackWindow, 3_600_000);
  return {
    name: c.metadata.name,
    severity: c.severity,
    op: c.condition.op,
    threshold: c.condition.threshold,
    longMs,
    shortMs: ms(c.condition.shortWindow, Math.max(60_000, Math.round(longMs / 12 / 60_000) * 60_000)),
    alertAfterMs: ms(c.condition.alertAfter, 0),
  };
}

function toIndicator(sli: Stored<SliSpecBody>): ResolvedIndicator | undefined {
  if (sli.ratioMetric) {
    const m = sli.ratioMetric;
    return {
      kind: 'ratio',
      name: sli.metadata.name,
      total: m.total.metricSource.spec.query,
      ...(m.good ? { good: m.good.metricSource.spec.query } : {}),
      ...(m.bad ? { bad: m.bad.metricSource.spec.query } : {}),
    };
  }
  if (sli.thresholdMetric) {
    const s = sli.thresholdMetric.metricSource.spec;
    return { kind: 'threshold', name: sli.metadata.name, value: s.query, ...(s.filter ? { filter: s.filter } : {}) };
  }
  return undefined;
}

function toWindow(spec: StoredSlo): TimeWindow {
  const tw = spec.timeWindow?.[0] ?? DEFAULT_TIME_WINDOW;
  const rolling = tw.isRolling ?? !tw.calendar;
  if (rolling) {
    const d = parseOpenSloDuration(tw.duration, ['m', 'h', 'd', 'w']);
    return { rolling: true, ms: typeof d === 'string' ? 30 * 86_400_000 : d.ms, text: tw.duration };
  }
  const d = parseOpenSloDuration(tw.duration, ['d', 'w', 'M', 'Q', 'Y']);
  return {
    rolling: false,
    amount: typeof d === 'string' ? 1 : d.amount,
    unit: typeof d === 'string' ? 'M' : d.unit,
    startTime: tw.calendar?.startTime ?? '2000-01-01 00:00:00',
    timeZone: tw.calendar?.timeZone ?? 'UTC',
    text: tw.duration,
  };
}

/** Nominal length of an SLO window, for scaling the default policy and retention. */
export function windowLength(w: TimeWindow): number {
  if (w.rolling) return w.ms;
  const d = parseOpenSloDuration(w.text, ['d', 'w', 'M', 'Q', 'Y']);
  return typeof d === 'string' ? 30 * 86_400_000 : d.ms;
}

/** Longest alert window of any policy: 10-second buckets are kept this long (plus a day). */
export function longestAlertWindow(slo: ResolvedSlo): number {
  return Math.max(0, ...slo.policies.flatMap((p) => p.conditions.map((c) => c.longMs)));
}

/**
 * Everything that decides what is counted, and how long counters must reach back. Two resolved
 * SLOs with the same fingerprint share their counters; a change of it starts a new generation.
 */
export function countingFingerprint(slo: ResolvedSlo): string {
  const basis = {
    indicator: { ...slo.indicator, name: undefined },
    method: slo.method,
    objectives: slo.objectives.map((o) => [o.op ?? null, o.value ?? null, o.timeSliceTarget ?? null, o.timeSliceMs ?? null]),
    breakdown: slo.breakdown,
    window: slo.window,
    fine: longestAlertWindow(slo),
  };
  return createHash('sha256').update(JSON.stringify(basis)).digest('hex').slice(0, 32);
}
