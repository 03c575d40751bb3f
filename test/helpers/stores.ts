/** Opens a fresh store of either engine: a temp SQLite file, or a random schema in the test PostgreSQL. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomBase62 } from '../../src/core/ids.js';
import { openPostgresStore, openSqliteStore, type Store, type StoreEngine } from '../../src/store/store.js';

export const PG_URL = process.env.KEEL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env.KEEL_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface TestStore {
  store: Store;
  /** The PostgreSQL schema, when the engine is postgres. */
  schema?: string;
  close(): Promise<void>;
}

export function randomSchema(prefix = 'keel_test'): string {
  return `${prefix}_${randomBase62(10).toLowerCase()}`;
}

export async function dropSchema(schema: string, url = PG_URL): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/**
 * The engines tests that run on both run on: both, unless KEEL_TEST_ENGINES narrows them (the
 * mutation run of escalation-service uses SQLite only: its logic does not depend on the engine,
 * and each mutant would otherwise pay for a PostgreSQL schema and its migrations).
 */
export const TEST_ENGINES: StoreEngine[] = (process.env.KEEL_TEST_ENGINES?.split(',') ?? ['sqlite', 'postgres']) as StoreEngine[];

export async function openTestStore(engine: StoreEngine): Promise<TestStore> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keel-store-'));
    const store = await openSqliteStore(join(dir, 'state.db'));
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = randomSchema();
  const store = await openPostgresStore(PG_URL, { schema, poolSize: 5 });
  return {
    store,
    schema,
    close: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
}
