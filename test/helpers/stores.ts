/** Opens a fresh store of either engine: a temp SQLite file, or a random schema in the test PostgreSQL. */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
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

/**
 * A migrated SQLite file, made once per test process: a fresh store is a copy of it (about 30 ms)
 * instead of running every migration again (about 0.8 s), which is most of a small test's time
 * and of each mutant's run in `npm run test:mutation`. Opening the copy still runs `migrate`,
 * which finds nothing to do. The migrations themselves are tested on files of their own.
 */
let sqliteTemplate: Promise<string> | undefined;
function migratedSqliteFile(): Promise<string> {
  sqliteTemplate ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-template-'));
    const file = join(dir, 'state.db');
    const store = await openSqliteStore(file);
    await store.close();
    // Closed: the WAL is checkpointed into the file, which is now complete on its own.
    if (existsSync(`${file}-wal`)) throw new Error('the SQLite template kept a WAL file after closing');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return file;
  })();
  return sqliteTemplate;
}

export async function openTestStore(engine: StoreEngine): Promise<TestStore> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keel-store-'));
    copyFileSync(await migratedSqliteFile(), join(dir, 'state.db'));
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
