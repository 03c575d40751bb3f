/**
 * kysely's migrator scans every schema in the database for its migration table; a schema dropped
 * during that scan (another Keel's cleanup, another test file's) failed the open with
 * `schema "…" does not exist` naming a schema that was not ours. The migrator now looks at our
 * schema only.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/store.js';
import { dropSchema, PG_URL, randomSchema } from '../helpers/stores.js';

const ours: string[] = [];
afterAll(async () => {
  for (const s of ours) await dropSchema(s);
});

it('opens a PostgreSQL store while other schemas in the database are being created and dropped', async () => {
  // Two connections churn schemas (each with a table, so the scan has rows to read) for as long
  // as the opens take.
  const churners = await Promise.all(
    [0, 1].map(async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      return c;
    }),
  );
  let churning = true;
  const churn = churners.map(async (c) => {
    while (churning) {
      const s = randomSchema('keel_dropme');
      await c.query(`CREATE SCHEMA "${s}"; CREATE TABLE "${s}".t (a int, b text, c int)`);
      await c.query(`DROP SCHEMA "${s}" CASCADE`);
    }
  });
  const opened: string[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      const schema = randomSchema('keel_opening');
      ours.push(schema);
      const store = await openPostgresStore(PG_URL, { schema, poolSize: 2 });
      await store.close();
      opened.push(schema);
    }
  } finally {
    churning = false;
    await Promise.all(churn);
    await Promise.all(churners.map((c) => c.end()));
  }
  expect(opened).toHaveLength(8);
}, 180_000);
