/**
 * The default alert policy: the Google SRE Workbook's multiwindow, multi-burn-rate alerts
 * (chapter 5, table 5-8), written for a 30-day SLO:
 *
 *   page   when the burn rate exceeds 14.4 over 1 h and 5 min, or 6 over 6 h and 30 min;
 *   ticket when it exceeds 3 over 1 day and 2 h, or 1 over 3 days and 6 h.
 *
 * For another window length W every window is scaled by W / 30 days (rounded to the minute, at
 * least one minute) and the factors stay: a factor f over a window w spends f·w/W of the budget,
 * so scaling w with W keeps each rule's meaning ("2 % of the budget in an hour" becomes "2 % of the
 * budget in 1/720 of the window").
 */
import { formatDuration } from './durations.js';
import type { ResolvedPolicy } from './model.js';
import { DAY, HOUR, MINUTE } from './windows.js';

export const DEFAULT_POLICY_NAME = 'default';
const BASE_WINDOW = 30 * DAY;

const RULES = [
  { severity: 'page', threshold: 14.4, long: HOUR, short: 5 * MINUTE },
  { severity: 'page', threshold: 6, long: 6 * HOUR, short: 30 * MINUTE },
  { severity: 'ticket', threshold: 3, long: DAY, short: 2 * HOUR },
  { severity: 'ticket', threshold: 1, long: 3 * DAY, short: 6 * HOUR },
] as const;

export function scaleWindow(ms: number, sloWindowMs: number): number {
  return Math.max(MINUTE, Math.round((ms * sloWindowMs) / BASE_WINDOW / MINUTE) * MINUTE);
}

export function defaultPolicy(sloWindowMs: number): ResolvedPolicy {
  return {
    name: DEFAULT_POLICY_NAME,
    builtin: true,
    alertWhenNoData: false,
    alertWhenResolved: true,
    alertWhenBreaching: true,
    notificationTargets: [],
    conditions: RULES.map((r) => {
      const longMs = scaleWindow(r.long, sloWindowMs);
      const shortMs = scaleWindow(r.short, sloWindowMs);
      return {
        name: `${r.severity}-${formatDuration(longMs)}-${formatDuration(shortMs)}`,
        severity: r.severity,
        op: 'gt' as const,
        threshold: r.threshold,
        longMs,
        shortMs,
        alertAfterMs: 0,
      };
    }),
  };
}
