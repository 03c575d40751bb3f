/**
 * Writing `keel bench history`'s rows straight into the owning tables: going through the domain's
 * functions would take hours for 110,000 rows on this machine and would measure the write path,
 * which `keel bench paging` already does.
 */
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { insertSql, type HistoryTable } from './history-rows.js';

/** Into a stopped embedded Keel's `state.db`, in one transaction. */
export function loadSqlite(path: string, tables: HistoryTable[]): void {
  const db = new SQLite(path);
  try {
    db.pragma('journal_mode = WAL');
    db.transaction(() => {
      for (const t of tables) {
        const ins = db.prepare(insertSql(t, `(${t.columns.map(() => '?').join(', ')})`));
        for (const r of t.rows) ins.run(...r);
      }
    })();
  } finally {
    db.close();
  }
}

/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;

/**
 * Into a PostgreSQL schema (a running distributed Keel's), in one transaction of multi-row
 * INSERTs, then ANALYZE of the tables written: the planner's statistics a year of autovacuum would
 * have kept (a table created empty and filled at once would otherwise be planned as empty for up
 * to a minute, until autovacuum runs).
 */
export async function loadPostgres(url: string, schema: string, tables: HistoryTable[]): Promise<void> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path="${schema}"` });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const t of tables) {
      const per = Math.max(1, Math.floor(MAX_PARAMS / t.columns.length));
      for (let at = 0; at < t.rows.length; at += per) {
        const chunk = t.rows.slice(at, at + per);
        const values = chunk.map((_, r) => `(${t.columns.map((_c, c) => `$${r * t.columns.length + c + 1}`).join(', ')})`).join(', ');
        await client.query(insertSql(t, values), chunk.flat());
      }
    }
    await client.query('COMMIT');
    for (const name of new Set(tables.map((t) => t.name))) await client.query(`ANALYZE ${name}`);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}
