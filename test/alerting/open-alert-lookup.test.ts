/**
 * Every signal looks up the open alert of its dedup key. On SQLite that lookup must use the partial
 * unique index alerts_open_dedup (tenant, dedup key, where status = 'firing'): with the status as a
 * bound parameter SQLite cannot match the index's WHERE and read every firing alert of the team
 * for each signal instead, quadratic in a storm. The plan and the answer are checked.
 */
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlert } from '../../src/alerting/alert-service.js';
import { alertRow } from '../helpers/rows.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore('sqlite');
  const row = (id: string, dedup: string, status: string, seen: number) => alertRow({ id, dedup_key: dedup, status, last_seen: seen });
  // The key "disk" fired and resolved three times and fires now; 200 other keys fire.
  const rows = [row('old1', 'disk', 'resolved', 1), row('old2', 'disk', 'resolved', 2), row('old3', 'disk', 'resolved', 3), row('now', 'disk', 'firing', 4)];
  for (let i = 0; i < 200; i++) rows.push(row(`other${i}`, `key-${i}`, 'firing', 10 + i));
  await ts.store.db.insertInto('alerts').values(rows).execute();
});
afterAll(async () => ts?.close());

describe('the open alert of a dedup key', () => {
  it('is found through the partial unique index of open alerts', async () => {
    const q = openAlert.bind(ts.store.db, { tenant: 'acme', dedupKey: 'disk' });
    const plan = await ts.store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]));
    expect(plan.rows.map((r) => r.detail)).toEqual(['SEARCH alerts USING INDEX alerts_open_dedup (tenant_id=? AND dedup_key=?)']);
  });

  it('is the firing one, not a resolved one of the same key', async () => {
    expect(await openAlert.first(ts.store.db, { tenant: 'acme', dedupKey: 'disk' })).toMatchObject({ id: 'now', status: 'firing' });
    expect(await openAlert.first(ts.store.db, { tenant: 'acme', dedupKey: 'none' })).toBeUndefined();
    expect(await openAlert.first(ts.store.db, { tenant: 'other-team', dedupKey: 'disk' })).toBeUndefined();
  });
});
