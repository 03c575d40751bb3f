/**
 * Cron schedules of runbooks, with a time zone (cron-parser, which follows the zone's daylight
 * saving changes). Pure: times are passed in.
 */
import { CronExpressionParser } from 'cron-parser';

/** Why a schedule is refused, or undefined. */
export function scheduleProblem(cron: string, timeZone: string): { field: 'cron' | 'timeZone'; message: string } | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    return { field: 'timeZone', message: `unknown time zone "${timeZone}" (an IANA name, e.g. Europe/Berlin)` };
  }
  const fields = cron.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return { field: 'cron', message: 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first' };
  try {
    CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(0) }).next();
  } catch (e) {
    return { field: 'cron', message: `not a cron expression: ${(e as Error).message}` };
  }
  return undefined;
}

/** The latest scheduled time at or before `now`. */
export function lastFireAt(cron: string, timeZone: string, now: number): number {
  // prev() is strictly before currentDate: ask from one millisecond later so `now` itself counts.
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(now + 1) })
    .prev()
    .getTime();
}

/** The next scheduled time after `now`. */
export function nextFireAt(cron: string, timeZone: string, now: number): number {
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(now) })
    .next()
    .getTime();
}

/**
 * Whether a schedule fires now: when a scheduled time passed since the last fire. A schedule seen
 * for the first time starts from now (it does not fire for times before it existed); times missed
 * while Keel was down fire once, not once each.
 */
export function dueFire(cron: string, timeZone: string, lastFired: number | undefined, now: number): number | undefined {
  const at = lastFireAt(cron, timeZone, now);
  if (lastFired === undefined) return undefined;
  return at > lastFired ? at : undefined;
}
