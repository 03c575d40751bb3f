/**
 * How long counters are kept, in one place for the writers (which do not write what would be
 * pruned at once), the backfill (which reads no older events) and pruning:
 * - 10-second buckets: the longest alert window plus two days (alert windows need exact edges);
 * - everything else (minute, hour and day buckets, time slices): the SLO window plus three days,
 *   which covers the longest calendar month and charts of the window's recent past.
 */
import type { ResolvedSlo } from './model.js';
import { longestAlertWindow, windowLength } from './resolve.js';
import { DAY } from './windows.js';

export function fineRetentionMs(slo: ResolvedSlo): number {
  return longestAlertWindow(slo) + 2 * DAY;
}

export function retentionMs(slo: ResolvedSlo): number {
  return windowLength(slo.window) + 3 * DAY;
}
