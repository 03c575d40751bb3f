import { describe, expect, it } from 'vitest';
import { groupingKey, matchLabels } from '../../../src/paging/routing/grouping.js';
import { MatcherError, matches, matchesAll, parseMatcher } from '../../../src/paging/routing/matchers.js';
import { compileRoutes, routeAlert } from '../../../src/paging/routing/router.js';
import { suppressedBy } from '../../../src/paging/routing/suppression.js';

describe('matchers (Alertmanager syntax)', () => {
  it('parses equality, inequality and anchored regexes', () => {
    expect(matches(parseMatcher('team="payments"'), { team: 'payments' })).toBe(true);
    expect(matches(parseMatcher('team=payments'), { team: 'payments' })).toBe(true);
    expect(matches(parseMatcher('team!="payments"'), { team: 'payments' })).toBe(false);
    expect(matches(parseMatcher('env=~"prod|staging"'), { env: 'staging' })).toBe(true);
    // Anchored: a regex must match the whole value.
    expect(matches(parseMatcher('env=~"prod"'), { env: 'production' })).toBe(false);
    expect(matches(parseMatcher('instance!~"test-.*"'), { instance: 'test-1' })).toBe(false);
    // A missing label is the empty string.
    expect(matches(parseMatcher('team=""'), {})).toBe(true);
    expect(matchesAll([parseMatcher('a="1"'), parseMatcher('b=~"x.*"')], { a: '1', b: 'xyz' })).toBe(true);
  });

  it('refuses what is not a matcher, with a reason', () => {
    expect(() => parseMatcher('no operator')).toThrow(MatcherError);
    expect(() => parseMatcher('a=~"("')).toThrow(/invalid regular expression/);
    expect(() => parseMatcher('a="unclosed')).toThrow(/closing quote/);
  });
});

describe('routes', () => {
  const routes = compileRoutes([
    { name: 'db', spec: { order: 10, matchers: ['team="db"'], service: 'database', default: false } },
    { name: 'payments-prod', spec: { order: 5, matchers: ['team="payments"', 'env=~"prod.*"'], service: 'checkout', default: false } },
    { name: 'catch-all', spec: { order: 1000, matchers: [], service: 'ops', default: true } },
    { name: 'payments', spec: { order: 20, matchers: ['team="payments"'], service: 'payments-dev', default: false } },
  ]);

  it('tries routes by order and the first match wins', () => {
    expect(routeAlert({ service: null, labels: { team: 'payments', env: 'production' } }, routes)).toEqual({ service: 'checkout', route: 'payments-prod' });
    expect(routeAlert({ service: null, labels: { team: 'payments', env: 'dev' } }, routes)).toEqual({ service: 'payments-dev', route: 'payments' });
    expect(routeAlert({ service: null, labels: { team: 'db' } }, routes)).toEqual({ service: 'database', route: 'db' });
  });

  it('falls back to the default route, and a source-named service wins', () => {
    expect(routeAlert({ service: null, labels: { team: 'other' } }, routes)).toEqual({ service: 'ops', route: 'catch-all' });
    expect(routeAlert({ service: 'search', labels: { team: 'db' } }, routes)).toEqual({ service: 'search', route: '(source)' });
    expect(routeAlert({ service: null, labels: {} }, [])).toEqual({ service: null, route: null });
  });
});

describe('grouping', () => {
  it('groups by the configured labels within a service', () => {
    expect(groupingKey('checkout', [], { alertname: 'A' })).toBe('checkout');
    expect(groupingKey('checkout', ['alertname', 'cluster'], { alertname: 'A', cluster: 'eu' })).toBe('checkout|alertname=A,cluster=eu');
    expect(groupingKey('checkout', ['alertname'], { alertname: 'A', cluster: 'eu' })).toBe(groupingKey('checkout', ['alertname'], { alertname: 'A', cluster: 'us' }));
  });

  it('match labels carry source, severity and the routed service', () => {
    expect(matchLabels({ labels: { a: '1', severity: 'warning' }, source: 'alertmanager', severity: 'critical' }, 'checkout')).toEqual({
      source: 'alertmanager',
      severity: 'warning',
      a: '1',
      service: 'checkout',
    });
  });
});

describe('silences and maintenance windows', () => {
  const silences = [{ name: 's1', spec: { matchers: ['alertname="DiskFull"'], startsAt: '2026-01-01T10:00:00Z', endsAt: '2026-01-01T12:00:00Z', createdBy: 'a', comment: 'c' } }];
  const windows = [{ name: 'm1', spec: { services: ['checkout'], startsAt: '2026-01-02T00:00:00Z', endsAt: '2026-01-02T01:00:00Z' } }];

  it('suppress only inside their time range and for what they match', () => {
    const at = (s: string) => Date.parse(s);
    expect(suppressedBy({ labels: { alertname: 'DiskFull' }, service: 'x', at: at('2026-01-01T11:00:00Z') }, silences, windows)).toBe('silence/s1');
    expect(suppressedBy({ labels: { alertname: 'DiskFull' }, service: 'x', at: at('2026-01-01T12:00:00Z') }, silences, windows)).toBeNull();
    expect(suppressedBy({ labels: { alertname: 'Other' }, service: 'x', at: at('2026-01-01T11:00:00Z') }, silences, windows)).toBeNull();
    expect(suppressedBy({ labels: {}, service: 'checkout', at: at('2026-01-02T00:30:00Z') }, silences, windows)).toBe('maintenance/m1');
    expect(suppressedBy({ labels: {}, service: 'search', at: at('2026-01-02T00:30:00Z') }, silences, windows)).toBeNull();
  });
});
