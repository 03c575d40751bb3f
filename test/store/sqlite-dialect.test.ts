/**
 * The SQLite dialect writes a plain integer LIMIT into the SQL text (store/sqlite-dialect.ts: a
 * bound LIMIT makes SQLite re-prepare the statement on every run), and binds anything else as
 * before; the rows are what the LIMIT says. Expected texts and rows are written by hand.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../helpers/stores.js';

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore('sqlite');
  await ts.store.db
    .insertInto('tenants')
    .values(['t1', 't2', 't3', 't4'].map((id) => ({ id, created_at: 1, events_per_second: 10, burst: 10, paused: 0 })))
    .execute();
});
afterAll(async () => ts?.close());

describe('LIMIT on SQLite', () => {
  const tenants = () => ts.store.db.selectFrom('tenants').select('id').where('id', 'like', 't%').orderBy('id');

  it('an integer LIMIT is part of the text; the OFFSET and the other values stay bound', async () => {
    const q = tenants().limit(2).offset(1).compile();
    expect(q.sql).toBe('select "id" from "tenants" where "id" like ? order by "id" limit 2 offset ?');
    expect(q.parameters).toEqual(['t%', 1]);
    expect((await tenants().limit(2).offset(1).execute()).map((r) => r.id)).toEqual(['t2', 't3']);
  });

  it('LIMIT 0 reads nothing; a bigint LIMIT is written as digits too', async () => {
    expect(tenants().limit(0).compile().sql).toMatch(/ limit 0$/);
    expect(await tenants().limit(0).execute()).toEqual([]);
    expect(tenants().limit(3n).compile().sql).toMatch(/ limit 3$/);
    expect((await tenants().limit(3n).execute()).map((r) => r.id)).toEqual(['t1', 't2', 't3']);
  });

  it('anything but a non-negative integer is bound as before', async () => {
    for (const odd of [-1, 2.5]) {
      const q = tenants().limit(odd).compile();
      expect(q.sql).toMatch(/ limit \?$/);
      expect(q.parameters).toEqual(['t%', odd]);
    }
    // SQLite: a negative LIMIT is no limit.
    expect((await tenants().limit(-1).execute()).map((r) => r.id)).toEqual(['t1', 't2', 't3', 't4']);
    expect(
      tenants()
        .limit(sql<number>`1 + 1`)
        .compile().sql,
    ).toMatch(/ limit 1 \+ 1$/);
    expect(
      (
        await tenants()
          .limit(sql<number>`1 + 1`)
          .execute()
      ).map((r) => r.id),
    ).toEqual(['t1', 't2']);
  });
});
