/**
 * `GET /v1/incidents/metrics?service=` counts the pages of that service's incidents sent in the
 * range, also pages of an incident opened before the range (still paging in it), never another
 * service's pages; on both stores. Expected counts are written by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../../src/core/bus.js';
import { FakeClock } from '../../../src/core/clock.js';
import { ActionItems } from '../../../src/paging/incidents/action-items.js';
import { IncidentQueries } from '../../../src/paging/incidents/incident-queries.js';
import { IncidentService } from '../../../src/paging/incidents/incident-service.js';
import { pagesBetween } from '../../../src/paging/notify/page-history.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

const T0 = Date.parse('2026-03-02T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** [incident, service, opened at]: `old` opened the day before the range, `late` after it. */
const INCIDENTS: [string, string, number][] = [
  ['old', 'api', T0 - DAY],
  ['api', 'api', T0 + HOUR],
  ['web', 'web', T0 + 3 * HOUR],
  ['late', 'api', T0 + 2 * DAY],
];
/** [incident, person, paged at]. */
const PAGES: [string, string, number][] = [
  ['old', 'usr_a', T0 - DAY],
  ['old', 'usr_a', T0 + 2 * HOUR],
  ['api', 'usr_a', T0 + HOUR],
  ['api', 'usr_b', T0 + 2 * HOUR],
  ['web', 'usr_a', T0 + 3 * HOUR],
  ['late', 'usr_b', T0 + 2 * DAY],
];

describe.each(['sqlite', 'postgres'] as const)('metrics of one service on %s', (engine) => {
  let ts: TestStore;
  let queries: IncidentQueries;

  beforeAll(async () => {
    ts = await openTestStore(engine);
    const clock = new FakeClock(T0 + 3 * DAY);
    queries = new IncidentQueries(ts.store, new IncidentService(ts.store, clock, new Bus()), new ActionItems(clock), { escalationProgress: async () => null, pagesBetween });
    for (const [n, [id, service, opened]] of INCIDENTS.entries()) {
      await ts.store.db
        .insertInto('incidents')
        .values({
          id: `inc_${id}`,
          tenant_id: 'acme',
          number: n + 1,
          title: id,
          summary: '',
          service,
          severity: 'SEV2',
          state: 'resolved',
          grouping_key: null,
          escalation_policy: null,
          opened_at: opened,
          acknowledged_at: opened + 60_000,
          mitigated_at: null,
          resolved_at: opened + 600_000,
          closed_at: null,
          created_by: 'test',
        } as never)
        .execute();
    }
    for (const [n, [incident, user, at]] of PAGES.entries()) {
      await ts.store.db
        .insertInto('notification_jobs')
        .values({
          id: `job_${n}`,
          tenant_id: 'acme',
          incident_id: `inc_${incident}`,
          user_id: user,
          target_name: 'pager',
          channel: 'webhook',
          target_json: '{}',
          message_json: '{}',
          status: 'sent',
          attempts: 1,
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
          sent_at: at,
          pass: 0,
          // Each page its own escalation step: pages of one step count once.
          step: n,
          kind: 'page',
        } as never)
        .execute();
    }
  });
  afterAll(async () => ts?.close());

  const load = async (service?: string) => {
    const m = await queries.metrics('acme', T0, T0 + DAY, service);
    return { incidents: m.overall.incidents, pages: m.on_call_load.map((l) => [l.user, l.pages]) };
  };

  it("counts the service's pages in the range, also of its incident opened before the range", async () => {
    expect(await load('api')).toEqual({
      incidents: 1,
      pages: [
        ['usr_a', 2],
        ['usr_b', 1],
      ],
    });
    expect(await load('web')).toEqual({ incidents: 1, pages: [['usr_a', 1]] });
    expect(await load('nothing')).toEqual({ incidents: 0, pages: [] });
    expect(await load()).toEqual({
      incidents: 2,
      pages: [
        ['usr_a', 3],
        ['usr_b', 1],
      ],
    });
  });
});
