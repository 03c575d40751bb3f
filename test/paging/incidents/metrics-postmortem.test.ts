import { describe, expect, it } from 'vitest';
import type { Incident } from '../../../src/paging/incidents/incident-service.js';
import { incidentMetrics, isoWeek } from '../../../src/paging/incidents/metrics.js';
import { formatDuration, renderPostmortem } from '../../../src/paging/incidents/postmortem.js';

const T = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const H = 3_600_000;

describe('incident metrics', () => {
  it('MTTA and MTTR over incidents opened in the range, per service and overall', () => {
    const m = incidentMetrics(
      [
        { service: 'a', severity: 'SEV1', openedAt: T, acknowledgedAt: T + 60_000, resolvedAt: T + H },
        { service: 'a', severity: 'SEV3', openedAt: T + H, acknowledgedAt: T + H + 180_000, resolvedAt: null },
        { service: 'b', severity: 'SEV2', openedAt: T + 2 * H, acknowledgedAt: null, resolvedAt: T + 3 * H },
        { service: 'b', severity: 'SEV2', openedAt: T - H, acknowledgedAt: T, resolvedAt: T }, // before the range
      ],
      [],
      T,
      T + 7 * 24 * H,
    );
    expect(m.overall).toEqual({ incidents: 3, acknowledged: 2, resolved: 2, mtta_seconds: 120, mttr_seconds: 3600, by_severity: { SEV1: 1, SEV2: 1, SEV3: 1, SEV4: 0 } });
    expect(m.services.map((s) => [s.service, s.incidents, s.mtta_seconds, s.mttr_seconds])).toEqual([
      ['a', 2, 120, 3600],
      ['b', 1, null, 3600],
    ]);
  });

  it('pages per person per week, by ISO week', () => {
    const day = 24 * H;
    const pages = [
      { user: 'alice', at: T + H },
      { user: 'alice', at: T + 2 * H },
      { user: 'alice', at: T + 8 * day },
      { user: 'bob', at: T + 9 * day },
      { user: 'bob', at: T + 30 * day }, // outside
    ];
    const m = incidentMetrics([], pages, T, T + 14 * day);
    expect(m.on_call_load).toEqual([
      { user: 'alice', pages: 3, pages_per_week: 1.5, weeks: { '2026-W10': 2, '2026-W11': 1 } },
      { user: 'bob', pages: 1, pages_per_week: 0.5, weeks: { '2026-W11': 1 } },
    ]);
    expect(isoWeek(Date.parse('2026-01-01T00:00:00Z'))).toBe('2026-W01');
    expect(isoWeek(Date.parse('2027-01-01T00:00:00Z'))).toBe('2026-W53');
  });
});

describe('postmortem rendering', () => {
  const incident: Incident = {
    id: 'inc_1',
    tenant: 't',
    number: 7,
    title: 'Checkout | errors',
    summary: '',
    service: 'checkout',
    severity: 'SEV2',
    state: 'resolved',
    groupingKey: 'checkout',
    escalationPolicy: 'p',
    openedAt: T,
    acknowledgedAt: T + 90_000,
    mitigatedAt: null,
    resolvedAt: T + 2 * H + 5 * 60_000,
    closedAt: null,
    createdBy: 'integration:slo',
    unpaged: null,
  };
  const base = { incident, roles: [], timeline: [], alerts: [], actionItems: [], generatedAt: T + 3 * H };

  it('renders every section, escaping table cells', () => {
    const md = renderPostmortem({
      ...base,
      impact: [{ slo: 'availability', budgetConsumed: 0.4213, badEvents: 120_000 }],
      timeline: [{ seq: 1, at: T, actor: 'system', type: 'state', message: 'opened\nsecond line', data: {} }],
    });
    expect(md).toContain('# Postmortem: incident #7: Checkout | errors');
    expect(md).toContain('| Acknowledged | 2026-03-02T00:01:30Z (after 1m 30s) |');
    expect(md).toContain('| Resolved | 2026-03-02T02:05:00Z (after 2h 5m) |');
    expect(md).toContain('_To be written: what happened, why, and how it was fixed._');
    expect(md).toContain('| availability | 42.13% | 120,000 |');
    expect(md).toContain('| 2026-03-02T00:00:00Z | system | opened second line |');
    expect(md).toContain('## Contributing alerts');
    expect(md).toContain('## Action items');
  });

  it('says plainly when there is no SLO data', () => {
    expect(renderPostmortem({ ...base, impact: null })).toContain('- Error budget: no SLO data source is connected');
    expect(renderPostmortem({ ...base, impact: [] })).toContain('- Error budget: no SLO of checkout lost budget during the incident');
    expect(renderPostmortem({ ...base, impact: [], impactError: 'SLO store down' })).toContain('- Error budget: could not be computed (SLO store down)');
  });

  it('formats durations for people', () => {
    expect([5_000, 90_000, 2 * H + 60_000, 50 * H].map(formatDuration)).toEqual(['5s', '1m 30s', '2h 1m', '2d 2h']);
  });
});
