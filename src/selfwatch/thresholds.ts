/**
 * The alerts Keel raises about itself, with the thresholds of the Prometheus rules it exports
 * (deploy/prometheus/keel-alerts.yaml): the same names, severities, `for` durations, thresholds and
 * runbook pages. test/selfwatch/thresholds.test.ts reads the rules file and fails when the two
 * differ, so a threshold changed in one place and not the other does not reach main. Pure: the
 * conditions take explicit times and samples.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface SelfAlertRule {
  /** The Prometheus alert's name, also the `alertname` label of Keel's own alert. */
  alert: string;
  severity: 'critical' | 'warning';
  /** How long the condition must hold before the alert fires (Prometheus `for`). */
  forMs: number;
  /** Page under docs/runbooks/. */
  runbook: string;
}

export const DISK_FILLING = {
  alert: 'KeelDataDiskFilling',
  severity: 'warning',
  forMs: 30 * MINUTE,
  runbook: 'disk-filling.md',
  /** Only while less than this share of the filesystem is free ... */
  freeRatioBelow: 0.25,
  /** ... and the trend of this window ... */
  trendWindowMs: 6 * HOUR,
  /** ... reaches zero free bytes within this. */
  fullWithinMs: DAY,
} as const satisfies SelfAlertRule & Record<string, unknown>;

export const CONSUMER_LAG = {
  alert: 'KeelConsumerLagHigh',
  severity: 'warning',
  forMs: 10 * MINUTE,
  runbook: 'consumer-lag.md',
  /** Events a processor (summed over partitions) may be behind. */
  lagEventsAbove: 1_000_000,
} as const satisfies SelfAlertRule & Record<string, unknown>;

export const LEADER_LOST = {
  alert: 'KeelLeaderLost',
  severity: 'critical',
  forMs: 2 * MINUTE,
  runbook: 'leader-lost.md',
} as const satisfies SelfAlertRule;

export const NOTIFICATION_CHANNEL_FAILING = {
  alert: 'KeelNotificationChannelFailing',
  severity: 'critical',
  forMs: 10 * MINUTE,
  runbook: 'notification-channel-failing.md',
  /** Share of a channel's notifications that failed after every retry ... */
  failedRatioAbove: 0.1,
  /** ... over this window. */
  windowMs: 15 * MINUTE,
} as const satisfies SelfAlertRule & Record<string, unknown>;

export const AUDIT_CHAIN_BROKEN = {
  alert: 'KeelAuditChainBroken',
  severity: 'critical',
  forMs: 0,
  runbook: 'audit-chain-broken.md',
} as const satisfies SelfAlertRule;

export const CERTIFICATE_EXPIRING = {
  alert: 'KeelCertificateExpiring',
  severity: 'warning',
  forMs: HOUR,
  runbook: 'certificate-expiry.md',
  expiresWithinMs: 14 * DAY,
} as const satisfies SelfAlertRule & Record<string, unknown>;

/** A runbook run waiting for a person's decision (a step whose outcome is unknown): nothing moves it on by itself. */
export const RUNBOOK_WAITING_FOR_DECISION = {
  alert: 'KeelRunbookWaitingForDecision',
  severity: 'warning',
  forMs: 10 * MINUTE,
  runbook: 'runbook-waiting.md',
} as const satisfies SelfAlertRule;

export const SELF_ALERT_RULES: readonly SelfAlertRule[] = [
  DISK_FILLING,
  CONSUMER_LAG,
  LEADER_LOST,
  NOTIFICATION_CHANNEL_FAILING,
  AUDIT_CHAIN_BROKEN,
  CERTIFICATE_EXPIRING,
  RUNBOOK_WAITING_FOR_DECISION,
];

/**
 * Prometheus' `predict_linear`: the least-squares line through the samples, evaluated `horizonMs`
 * after `now`. Undefined with fewer than two samples or all at one time.
 */
export function predictLinear(samples: readonly { at: number; value: number }[], now: number, horizonMs: number): number | undefined {
  if (samples.length < 2) return undefined;
  const n = samples.length;
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    sx += s.at - now;
    sy += s.value;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const s of samples) {
    const dx = s.at - now - mx;
    sxx += dx * dx;
    sxy += dx * (s.value - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  return intercept + slope * horizonMs;
}

/** The disk condition: little free and, on the trend of the window, full within a day. */
export function diskFilling(samples: readonly { at: number; free: number }[], size: number, now: number): boolean {
  const last = samples[samples.length - 1];
  if (!last || size <= 0) return false;
  if (last.free / size >= DISK_FILLING.freeRatioBelow) return false;
  const window = samples.filter((s) => s.at >= now - DISK_FILLING.trendWindowMs).map((s) => ({ at: s.at, value: s.free }));
  const predicted = predictLinear(window, now, DISK_FILLING.fullWithinMs);
  return predicted !== undefined && predicted < 0;
}

/**
 * Prometheus' `for`: a condition becomes firing once it has held for `forMs` without a break.
 * One tracker per process; a restart starts the wait again (as a Prometheus restart does).
 */
export class ForTracker {
  private readonly since = new Map<string, number>();

  /** Whether the alert `key` fires at `now`, given whether its condition holds now. */
  update(key: string, holds: boolean, forMs: number, now: number): boolean {
    if (!holds) {
      this.since.delete(key);
      return false;
    }
    const from = this.since.get(key) ?? now;
    this.since.set(key, from);
    return now - from >= forMs;
  }

  /** Keys whose condition holds now (pending or firing). */
  keys(): string[] {
    return [...this.since.keys()];
  }
}
