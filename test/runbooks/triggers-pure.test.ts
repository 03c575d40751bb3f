import { describe, expect, it } from 'vitest';
import { dueFire, lastFireAt, nextFireAt, scheduleProblem } from '../../src/runbooks/schedule.js';
import { decideTrigger, matchesAlert, matchesIncident } from '../../src/runbooks/triggers.js';

const alert = { labels: { alertname: 'DiskFilling', host: 'db-1' }, summary: 's', severity: 'critical', source: 'alertmanager', dedup_key: 'k', status: 'firing', service: 'db' };

describe('trigger decisions', () => {
  it('matches labels, with severity, source and service as labels', () => {
    expect(matchesAlert({ labels: { alertname: 'DiskFilling' } }, alert)).toBe(true);
    expect(matchesAlert({ labels: { alertname: 'DiskFilling', service: 'db', severity: 'critical' } }, alert)).toBe(true);
    expect(matchesAlert({ labels: { alertname: 'DiskFilling', host: 'db-2' } }, alert)).toBe(false);
    expect(matchesAlert({ labels: { service: 'web' } }, alert)).toBe(false);
  });

  it('matches a CEL `when` over the alert after the labels', () => {
    expect(matchesAlert({ labels: { alertname: 'DiskFilling' }, when: 'alert.labels.host == "db-1" && alert.severity == "critical"' }, alert)).toBe(true);
    expect(matchesAlert({ labels: { alertname: 'DiskFilling' }, when: 'alert.labels.host != "db-1"' }, alert)).toBe(false);
    expect(matchesAlert({ labels: { alertname: 'Other' }, when: 'alert.labels.host == "db-1"' }, alert)).toBe(false);
  });

  it('matches an incident by severity list, labels of its alerts (with service and severity) and `when`', () => {
    const incident = { id: 'inc_1', number: 7, title: 'db down', severity: 'SEV2', service: 'db', state: 'triggered', labels: { env: 'prod' } };
    expect(matchesIncident({ labels: {} }, incident)).toBe(true);
    expect(matchesIncident({ labels: {}, severities: ['SEV1', 'SEV2'] }, incident)).toBe(true);
    expect(matchesIncident({ labels: {}, severities: ['SEV1'] }, incident)).toBe(false);
    expect(matchesIncident({ labels: { env: 'prod', service: 'db', severity: 'SEV2' } }, incident)).toBe(true);
    expect(matchesIncident({ labels: { env: 'dev' } }, incident)).toBe(false);
    expect(matchesIncident({ labels: {}, when: 'incident.labels.env == "prod" && incident.number > 5' }, incident)).toBe(true);
    expect(matchesIncident({ labels: {}, when: 'incident.title == "web down"' }, incident)).toBe(false);
  });

  it('queues behind an active run when asked to, after the cooldown and the breaker', () => {
    const base = { activeForKey: 1, lastRunForKey: null, automaticRunsLastHour: 0, cooldownMs: 600_000, maxRunsPerHour: 3, now: 1_000_000, queue: true };
    expect(decideTrigger(base)).toBe('queue');
    expect(decideTrigger({ ...base, queue: false })).toBe('concurrent');
    expect(decideTrigger({ ...base, lastRunForKey: 1_000_000 - 1 })).toBe('cooldown');
    expect(decideTrigger({ ...base, automaticRunsLastHour: 3 })).toBe('breaker');
    expect(decideTrigger({ ...base, activeForKey: 0 })).toBe('run');
  });

  it('checks the concurrency key first, then the cooldown, then the breaker', () => {
    const base = { activeForKey: 0, lastRunForKey: null, automaticRunsLastHour: 0, cooldownMs: 600_000, maxRunsPerHour: 3, now: 1_000_000 };
    expect(decideTrigger(base)).toBe('run');
    expect(decideTrigger({ ...base, activeForKey: 1, automaticRunsLastHour: 9 })).toBe('concurrent');
    expect(decideTrigger({ ...base, lastRunForKey: 1_000_000 - 599_999 })).toBe('cooldown');
    expect(decideTrigger({ ...base, lastRunForKey: 1_000_000 - 600_000 })).toBe('run');
    expect(decideTrigger({ ...base, automaticRunsLastHour: 3 })).toBe('breaker');
    expect(decideTrigger({ ...base, automaticRunsLastHour: 2 })).toBe('run');
  });
});

describe('cron schedules with a time zone', () => {
  it('fires at 03:00 Berlin time, across the daylight saving change', () => {
    // 2026-03-29: Berlin moves from UTC+1 to UTC+2.
    expect(new Date(nextFireAt('0 3 * * *', 'Europe/Berlin', Date.parse('2026-03-28T12:00:00Z'))).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(new Date(nextFireAt('0 3 * * *', 'Europe/Berlin', Date.parse('2026-03-29T12:00:00Z'))).toISOString()).toBe('2026-03-30T01:00:00.000Z');
    expect(new Date(nextFireAt('0 3 * * *', 'UTC', Date.parse('2026-03-29T12:00:00Z'))).toISOString()).toBe('2026-03-30T03:00:00.000Z');
  });

  it('counts a time exactly now as passed, fires missed times once, and not before it existed', () => {
    const at3 = Date.parse('2026-06-01T03:00:00Z');
    expect(lastFireAt('0 3 * * *', 'UTC', at3)).toBe(at3);
    expect(dueFire('0 3 * * *', 'UTC', undefined, at3)).toBeUndefined();
    expect(dueFire('0 3 * * *', 'UTC', at3 - 86_400_000, at3)).toBe(at3);
    expect(dueFire('0 3 * * *', 'UTC', at3, at3 + 3_600_000)).toBeUndefined();
    // Down for three days: one fire, for the latest time.
    expect(dueFire('0 3 * * *', 'UTC', at3 - 3 * 86_400_000, at3 + 3_600_000)).toBe(at3);
  });

  it('refuses bad expressions and unknown zones', () => {
    expect(scheduleProblem('0 3 * *', 'UTC')).toEqual({ field: 'cron', message: 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first' });
    expect(scheduleProblem('0 3 * * *', 'Mars/Base')).toEqual({ field: 'timeZone', message: 'unknown time zone "Mars/Base" (an IANA name, e.g. Europe/Berlin)' });
    expect(scheduleProblem('0 25 * * *', 'UTC')?.field).toBe('cron');
    expect(scheduleProblem('*/5 * * * *', 'America/New_York')).toBeUndefined();
  });
});
