/**
 * Keyset pages of the incident and alert lists, on both stores: walking every page gives each row
 * exactly once, in the documented order (newest first, ties by the higher number / id first),
 * also with filters, also when rows are added on top while paging; the last page has no cursor;
 * a cursor that is not one is a 400 naming the field. Expected orders are written by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../../src/core/bus.js';
import { FakeClock } from '../../../src/core/clock.js';
import { decodeCursor, type PageKey } from '../../../src/core/page-cursor.js';
import { IncidentService } from '../../../src/paging/incidents/incident-service.js';
import { listPagingAlerts } from '../../../src/paging/routing/alert-list.js';
import { http, startTestKeel, type TestKeel } from '../../helpers/keel.js';
import { openTestStore, type TestStore } from '../../helpers/stores.js';
import { alertRow, incidentRow } from '../../helpers/rows.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const MIN = 60_000;

/** Incident n (1..12): opened at these minutes; 3, 4, 5 share minute 2 and 8, 9 share minute 6. */
const OPENED_MIN: Record<number, number> = { 1: 0, 2: 1, 3: 2, 4: 2, 5: 2, 6: 3, 7: 5, 8: 6, 9: 6, 10: 7, 11: 9, 12: 10 };
const STATE: Record<number, string> = {
  1: 'closed',
  2: 'resolved',
  3: 'triggered',
  4: 'resolved',
  5: 'closed',
  6: 'resolved',
  7: 'acknowledged',
  8: 'resolved',
  9: 'resolved',
  10: 'closed',
  11: 'triggered',
  12: 'resolved',
};

describe.each(['sqlite', 'postgres'] as const)('history pages on %s', (engine) => {
  let ts: TestStore;
  let incidents: IncidentService;

  async function insertIncident(n: number, openedMin: number, state: string, service = n % 2 === 0 ? 'api' : 'web'): Promise<void> {
    await ts.store.db
      .insertInto('incidents')
      .values(incidentRow({ id: `inc_${String(n).padStart(3, '0')}`, number: n, service, state, opened_at: T0 + openedMin * MIN }))
      .execute();
  }

  async function insertAlert(id: string, seenMin: number, status: 'firing' | 'resolved', tenant = 'acme'): Promise<void> {
    // (resolved_at stays null: the history pages order and filter by last_seen and status only.)
    await ts.store.db
      .insertInto('alerts')
      .values(alertRow({ id, tenant_id: tenant, dedup_key: id, status, severity: 'error', last_seen: T0 + seenMin * MIN, resolved_at: null }))
      .execute();
  }

  beforeAll(async () => {
    ts = await openTestStore(engine);
    incidents = new IncidentService(ts.store, new FakeClock(T0), new Bus());
    for (const [n, m] of Object.entries(OPENED_MIN)) await insertIncident(Number(n), m, STATE[Number(n)]!);
    await insertIncident(99, 50, 'triggered');
    await ts.store.db.updateTable('incidents').set({ tenant_id: 'other' }).where('number', '=', 99).execute();
    // Alerts: a5..a1 at minute 1 (ties broken by id), b at 2, c1 c2 at 3, d at 4 (firing: a2, c1, d).
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) await insertAlert(id, 1, id === 'a2' ? 'firing' : 'resolved');
    await insertAlert('b', 2, 'resolved');
    await insertAlert('c1', 3, 'firing');
    await insertAlert('c2', 3, 'resolved');
    await insertAlert('d', 4, 'firing');
    await insertAlert('z-other-team', 5, 'firing', 'other');
  });
  afterAll(async () => ts?.close());

  /** Pages as GET /v1/incidents makes them: limit + 1 rows, the next page before the last shown. */
  async function walkIncidents(filter: Parameters<IncidentService['list']>[1], pageSize: number): Promise<number[][]> {
    const pages: number[][] = [];
    let before: { openedAt: number; number: number } | undefined;
    for (let i = 0; i < 20; i++) {
      const rows = await incidents.list('acme', { ...filter, limit: pageSize + 1, ...(before ? { before } : {}) });
      const page = rows.slice(0, pageSize);
      pages.push(page.map((x) => x.number));
      if (rows.length <= pageSize) return pages;
      const last = page[page.length - 1]!;
      before = { openedAt: last.openedAt, number: last.number };
    }
    throw new Error('more than 20 pages');
  }

  it('walks every incident once, newest first, ties by the higher number, in pages of 5', async () => {
    expect(await walkIncidents({}, 5)).toEqual([
      [12, 11, 10, 9, 8],
      [7, 6, 5, 4, 3],
      [2, 1],
    ]);
    // A page size that ends exactly on the last row: no empty extra page, no cursor on the last.
    expect(await walkIncidents({}, 4)).toEqual([
      [12, 11, 10, 9],
      [8, 7, 6, 5],
      [4, 3, 2, 1],
    ]);
  });

  it('keeps the filters across pages (states, service, time range)', async () => {
    expect(await walkIncidents({ states: ['resolved', 'closed'] }, 3)).toEqual([
      [12, 10, 9],
      [8, 6, 5],
      [4, 2, 1],
    ]);
    expect(await walkIncidents({ service: 'api' }, 2)).toEqual([
      [12, 10],
      [8, 6],
      [4, 2],
    ]);
    expect(await walkIncidents({ from: T0 + 2 * MIN, to: T0 + 7 * MIN }, 2)).toEqual([[9, 8], [7, 6], [5, 4], [3]]);
  });

  it('neither repeats nor skips a row when incidents are opened on top while paging', async () => {
    const first = await incidents.list('acme', { limit: 5 });
    expect(first.map((x) => x.number)).toEqual([12, 11, 10, 9, 8]);
    await insertIncident(13, 20, 'triggered');
    const second = await incidents.list('acme', { limit: 5, before: { openedAt: first[4]!.openedAt, number: first[4]!.number } });
    expect(second.map((x) => x.number)).toEqual([7, 6, 5, 4, 3]);
    await ts.store.db.deleteFrom('incidents').where('number', '=', 13).execute();
  });

  it('walks the alerts once, most recently seen first, ties by the higher id, with the status filter', async () => {
    const walk = async (status: 'firing' | 'resolved' | undefined, limit: number) => {
      const pages: string[][] = [];
      let after: PageKey | undefined;
      for (;;) {
        const p = await listPagingAlerts(ts.store.db, 'acme', { limit, ...(status ? { status } : {}), ...(after ? { after } : {}) });
        pages.push(p.alerts.map((a) => a.id));
        if (!p.nextCursor) return pages;
        after = decodeCursor(p.nextCursor);
      }
    };
    expect(await walk(undefined, 3)).toEqual([
      ['d', 'c2', 'c1'],
      ['b', 'a5', 'a4'],
      ['a3', 'a2', 'a1'],
    ]);
    expect(await walk(undefined, 2)).toEqual([['d', 'c2'], ['c1', 'b'], ['a5', 'a4'], ['a3', 'a2'], ['a1']]);
    expect(await walk('firing', 2)).toEqual([['d', 'c1'], ['a2']]);
  });
});

describe('list cursors over HTTP', () => {
  let t: TestKeel;
  beforeAll(async () => {
    t = await startTestKeel();
  });
  afterAll(async () => t?.close());

  it('answer next_cursor (null on the last page) and refuse a cursor that is not one with a 400 naming it', async () => {
    const list = await http(`${t.url}/v1/incidents?state=all`, { key: t.adminKey });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ incidents: [], next_cursor: null });
    const alerts = await http(`${t.url}/v1/paging/alerts`, { key: t.adminKey });
    expect(alerts.status).toBe(200);
    expect(alerts.body).toEqual({ alerts: [], next_cursor: null });
    const incidentCursor = await http(`${t.url}/v1/incidents?cursor=not-a-cursor`, { key: t.adminKey });
    expect(incidentCursor.status).toBe(400);
    expect(incidentCursor.body.error.code).toBe('validation_failed');
    for (const path of ['/v1/paging/alerts?cursor=not-a-cursor', '/v1/paging/alerts?cursor=WzEsMiwzXQ', `/v1/paging/alerts?cursor=${Buffer.from('[1.5,"x"]').toString('base64url')}`]) {
      const bad = await http(`${t.url}${path}`, { key: t.adminKey });
      expect(bad.status, path).toBe(400);
      expect(bad.body.error.code).toBe('validation_failed');
      expect(bad.body.error.message).toBe('cursor: not a cursor of this list; pass the next_cursor of the previous page');
    }
  });
});
