/**
 * Which capacity alerts should be open, pure: for each limit, one alert while it is at 80 % or
 * more now (`warning`; `critical` from 95 %), one while it is forecast to run out within the
 * horizon (`warning`), and for daily quotas the 80 % and 100 % notices. They go through the alert
 * pipeline (`ctx.alerts.signal`), so policies route them, page, open incidents, run runbooks.
 */
import type { LimitReport } from './capacity-report.js';
import { noticeLevel } from './daily-quota.js';

export const CAPACITY_SOURCE = 'capacity';
export const SYSTEM_TENANT_ID = 'default';

export interface CapacityAlert {
  tenant: string;
  dedupKey: string;
  status: 'firing' | 'resolved';
  severity: string;
  summary: string;
  labels: Record<string, string>;
  values: Record<string, unknown>;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export function limitAlerts(r: LimitReport): CapacityAlert[] {
  const tenant = r.tenant ?? SYSTEM_TENANT_ID;
  const labels = { limit: r.id, kind: r.kind };
  const out: CapacityAlert[] = [];
  const u = r.utilisation;
  const high = u !== null && u >= 0.8;
  out.push({
    tenant,
    dedupKey: `capacity:${r.id}:utilisation`,
    status: high ? 'firing' : 'resolved',
    severity: u !== null && u >= 0.95 ? 'critical' : 'warning',
    summary: high ? `${r.title} is at ${pct(u)} of its capacity (${r.usage} of ${r.capacity} ${r.unit}); ${r.action}` : `${r.title} is below 80 % of its capacity`,
    labels: { ...labels, condition: 'utilisation' },
    values: { usage: r.usage, capacity: r.capacity, utilisation: u },
  });
  const soon = r.exhaustion.status === 'forecast';
  out.push({
    tenant,
    dedupKey: `capacity:${r.id}:forecast`,
    status: soon ? 'firing' : 'resolved',
    severity: 'warning',
    summary: soon
      ? `${r.title} is forecast to run out at ${r.exhaustion.at} (band ${r.exhaustion.earliest} – ${r.exhaustion.latest ?? 'beyond the horizon'}; ${r.model} model); ${r.action}`
      : `${r.title} is no longer forecast to run out within the horizon`,
    labels: { ...labels, condition: 'forecast' },
    values: { at: r.exhaustion.at, earliest: r.exhaustion.earliest, latest: r.exhaustion.latest, model: r.model, backtestError: r.backtestError, trendPerDay: r.trendPerDay },
  });
  return out;
}

/** The daily quota's notices: 80 % (warning) and 100 % (critical) of today's quota. */
export function dailyQuotaAlerts(tenant: string, used: number, quota: number, day: string): CapacityAlert[] {
  const level = noticeLevel(used, quota);
  return ([80, 100] as const).map((thr) => ({
    tenant,
    dedupKey: `capacity:tenant.${tenant}.daily:${thr}`,
    status: level >= thr ? 'firing' : 'resolved',
    severity: thr === 100 ? 'critical' : 'warning',
    summary:
      level >= thr
        ? thr === 100
          ? `tenant "${tenant}" used its whole daily volume quota of ${quota} events on ${day} (UTC): further events are refused with 429 until midnight UTC`
          : `tenant "${tenant}" used ${used} of its daily volume quota of ${quota} events on ${day} (UTC): 80 % reached`
        : `tenant "${tenant}" is below ${thr} % of its daily volume quota`,
    labels: { limit: `tenant.${tenant}.daily`, kind: 'daily_quota', condition: `daily_${thr}` },
    values: { used, quota, day },
  }));
}

const DAILY_NOTICE = /^capacity:tenant\.(.+)\.daily:(80|100)$/;
const LIMIT_ALERT = /^capacity:(.+):(utilisation|forecast)$/;

/** A firing alert of this source that nothing produces any more, resolved. */
function resolvedAlert(f: { tenant: string; dedupKey: string }, severity: string, summary: string, labels: Record<string, string>): CapacityAlert {
  return { tenant: f.tenant, dedupKey: f.dedupKey, status: 'resolved', severity, summary, labels, values: {} };
}

/**
 * Daily-quota notices still firing for a tenant that has no daily quota any more (removed, or
 * its tenant deleted), resolved: otherwise nothing would ever resolve them, and a stale notice
 * hides the next real one behind an alert everyone has learned to ignore.
 */
export function removedQuotaNotices(firing: { tenant: string; dedupKey: string }[], withQuota: ReadonlySet<string>): CapacityAlert[] {
  const out: CapacityAlert[] = [];
  for (const f of firing) {
    const m = DAILY_NOTICE.exec(f.dedupKey);
    if (!m || m[1] !== f.tenant || withQuota.has(f.tenant)) continue;
    out.push(
      resolvedAlert(f, m[2] === '100' ? 'critical' : 'warning', `tenant "${f.tenant}" has no daily volume quota any more`, {
        limit: `tenant.${f.tenant}.daily`,
        kind: 'daily_quota',
        condition: `daily_${m[2]}`,
      }),
    );
  }
  return out;
}

/**
 * Utilisation and forecast alerts still firing for a limit the report no longer has (its `Limit`
 * definition deleted), resolved, for the same reason: the limit's last reading would otherwise
 * keep them firing for good.
 */
export function untrackedLimitAlerts(firing: { tenant: string; dedupKey: string }[], reported: ReadonlySet<string>): CapacityAlert[] {
  const out: CapacityAlert[] = [];
  for (const f of firing) {
    const m = LIMIT_ALERT.exec(f.dedupKey);
    if (!m || reported.has(m[1]!)) continue;
    out.push(resolvedAlert(f, 'warning', `limit ${m[1]} is no longer tracked`, { limit: m[1]!, condition: m[2]! }));
  }
  return out;
}
