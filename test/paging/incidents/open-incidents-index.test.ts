/**
 * Migration 0820's partial index incidents_open_opened, on both stores: the open incidents of a
 * team (the default `GET /v1/incidents`) are listed newest first from it, a page read in index
 * order with no sort of every open incident, whatever the order the states are named in; other
 * state filters answer as before. Expected incidents are written by hand.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../../src/core/bus.js';
import { FakeClock } from '../../../src/core/clock.js';
import { IncidentService, type IncidentState } from '../../../src/paging/incidents/incident-service.js';
import { incidentRow } from '../../helpers/rows.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MIN = 60_000;
/** Incident n (1..2000) opened at minute n; every 100th is open: 100 triggered, 200 acknowledged, 300 mitigated, 400 triggered, ... */
const OPEN_CYCLE = ['triggered', 'acknowledged', 'mitigated'] as const;

describe.each(['sqlite', 'postgres'] as const)('the open incidents index on %s', (engine) => {
  let ts: TestStore;
  let incidents: IncidentService;

  beforeAll(async () => {
    ts = await openTestStore(engine);
    incidents = new IncidentService(ts.store, new FakeClock(T0), new Bus());
    const rows = Array.from({ length: 2000 }, (_, i) => {
      const n = i + 1;
      return incidentRow({
        id: `inc_${String(n).padStart(4, '0')}`,
        tenant_id: n % 500 === 7 ? 'other' : 'acme',
        number: n,
        service: `svc-${n % 4}`,
        state: n % 100 === 0 ? OPEN_CYCLE[(n / 100 - 1) % 3]! : n % 2 ? 'resolved' : 'closed',
        opened_at: T0 + n * MIN,
      });
    });
    for (let i = 0; i < rows.length; i += 200)
      await ts.store.db
        .insertInto('incidents')
        .values(rows.slice(i, i + 200))
        .execute();
    // The statistics PostgreSQL's autovacuum keeps (it would plan the table as empty without them).
    if (engine === 'postgres') await sql`ANALYZE incidents`.execute(ts.store.db);
  });
  afterAll(async () => ts?.close());

  async function plan(states: IncidentState[], before?: { openedAt: number; number: number }): Promise<string> {
    const q = incidents.listQuery('acme', { states, limit: 6, ...(before ? { before } : {}) }).compile();
    const explain = engine === 'postgres' ? 'EXPLAIN ' : 'EXPLAIN QUERY PLAN ';
    const r = await ts.store.db.executeQuery<Record<string, string>>(CompiledQuery.raw(explain + q.sql, [...q.parameters]));
    return r.rows.map((row) => row['QUERY PLAN'] ?? row.detail).join('\n');
  }

  const numbers = async (states: IncidentState[], limit: number, before?: number) =>
    (await incidents.list('acme', { states, limit, ...(before ? { before: { openedAt: T0 + before * MIN, number: before } } : {}) })).map((i) => i.number);

  it('lists the open incidents newest first, page after page', async () => {
    expect(await numbers(['triggered', 'acknowledged', 'mitigated'], 5)).toEqual([2000, 1900, 1800, 1700, 1600]);
    expect(await numbers(['triggered', 'acknowledged', 'mitigated'], 5, 1600)).toEqual([1500, 1400, 1300, 1200, 1100]);
    expect(await numbers(['mitigated', 'triggered', 'acknowledged'], 100, 300)).toEqual([200, 100]);
  });

  it('reads a page of open incidents from the partial index in its order, without sorting them', async () => {
    for (const states of [
      ['triggered', 'acknowledged', 'mitigated'],
      ['acknowledged', 'mitigated', 'triggered'],
    ] as IncidentState[][]) {
      for (const p of [await plan(states), await plan(states, { openedAt: T0 + 1600 * MIN, number: 1600 })]) {
        expect(p).toContain('incidents_open_opened');
        expect(p).not.toMatch(/Sort|TEMP B-TREE/);
      }
    }
  });

  it('answers other state filters as before', async () => {
    expect(await numbers(['triggered'], 3)).toEqual([1900, 1600, 1300]);
    expect(await numbers(['acknowledged', 'mitigated'], 4)).toEqual([2000, 1800, 1700, 1500]);
    expect(await numbers(['resolved', 'closed'], 3)).toEqual([1999, 1998, 1997]);
    // Incident 1507 is another team's: never in acme's lists.
    expect(await numbers(['resolved'], 3, 1510)).toEqual([1509, 1505, 1503]);
  });
});
