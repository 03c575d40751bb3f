/**
 * Prepared statements kept for reuse on the SQLite store. kysely's SQLite driver calls
 * `database.prepare(sql)` for every query it runs (a transaction's BEGIN and COMMIT included), and
 * compiling SQL is a large share of the work of a small query: under a paging storm it was 12 % of
 * Keel's event loop. kysely produces the same SQL text for the same query shape (values are bound
 * parameters), so statements are kept in a bounded LRU keyed by that text and handed out again.
 *
 * Why this is safe:
 * - better-sqlite3 prepares with `sqlite3_prepare_v3`, so a statement whose tables changed under it
 *   (a migration, a restore) is recompiled by SQLite on its next run; one naming a table that is
 *   gone fails as a fresh one would.
 * - There is one connection, so a statement belongs to it inside and outside transactions; SQLite
 *   resets a statement after each `all`/`run`, and bindings are passed anew on every call.
 * - A statement still being iterated (`busy`, kysely's `stream()`) cannot run again until it is
 *   done: a fresh, uncached one is prepared for that call instead.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept (kysely makes a new text for each length of an `in (…)` list). */
export const DEFAULT_STATEMENT_CACHE_SIZE = 1000;

export interface StatementCacheStats {
  size: number;
  hits: number;
  misses: number;
}

export class CachingSqliteDatabase implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly capacity = DEFAULT_STATEMENT_CACHE_SIZE,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`statement cache capacity must be a positive integer, got ${capacity}`);
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.statements.get(sql);
    if (cached) {
      if (cached.busy) return this.db.prepare(sql);
      this.hits++;
      // Most recently used last: Map keeps insertion order, so the first key is the eviction candidate.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    this.misses++;
    const stmt = this.db.prepare(sql);
    this.statements.set(sql, stmt);
    if (this.statements.size > this.capacity) {
      const oldest = this.statements.keys().next().value;
      if (oldest !== undefined) this.statements.delete(oldest);
    }
    return stmt;
  }

  stats(): StatementCacheStats {
    return { size: this.statements.size, hits: this.hits, misses: this.misses };
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
