/**
 * The PostgreSQL side of the store: connection settings (URL, TLS, schema), a pool that survives
 * a restarting server (idle connections that die are reported, not thrown; later queries open new
 * ones), and migrations that many processes may start at once.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';

export interface PostgresTls {
  /** PEM file of the CA that signed the server's certificate. */
  ca?: string | undefined;
  /** PEM files of a client certificate and key (certificate authentication). */
  cert?: string | undefined;
  key?: string | undefined;
  /** Verify the server's certificate (default true; false only for tests with self-signed certs). */
  rejectUnauthorized?: boolean | undefined;
}

export interface PostgresOptions {
  /** Tables live in this schema (created if missing); default: the server's search_path. */
  schema?: string | undefined;
  poolSize?: number | undefined;
  tls?: PostgresTls | undefined;
  /** Shown in pg_stat_activity, so operators can tell Keel's connections apart. */
  applicationName?: string | undefined;
  /** Told of errors of idle connections (a restarting server), which must not crash the process. */
  onError?: ((err: Error) => void) | undefined;
}

/** What cluster code needs to open its own connections with the same settings. */
export interface PostgresHandle {
  pool: pg.Pool;
  clientConfig: pg.ClientConfig;
  schema: string | undefined;
}

// bigint columns hold epoch milliseconds and counters, all far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function postgresClientConfig(connectionString: string, options: PostgresOptions = {}): pg.ClientConfig {
  const config: pg.ClientConfig = {
    connectionString,
    application_name: options.applicationName ?? 'keel',
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
  };
  if (options.schema) config.options = `-c search_path=${quoteIdent(options.schema)}`;
  if (options.tls) config.ssl = tlsOptions(options.tls);
  return config;
}

function tlsOptions(tls: PostgresTls): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
  if (tls.ca) out.ca = readFileSync(tls.ca, 'utf8');
  if (tls.cert) out.cert = readFileSync(tls.cert, 'utf8');
  if (tls.key) out.key = readFileSync(tls.key, 'utf8');
  return out;
}

export function createPostgresPool(connectionString: string, options: PostgresOptions = {}): PostgresHandle {
  const clientConfig = postgresClientConfig(connectionString, options);
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would kill the
  // process. The pool drops that client and the next query connects again.
  pool.on('error', (err) => options.onError?.(err));
  // A client checked out of the pool (inside a transaction, between two statements) that loses its
  // server emits 'error' with no pool listener attached: without this handler the process dies.
  // Its next statement fails instead, the transaction rolls back, and the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', (err) => options.onError?.(err));
  });
  return { pool, clientConfig, schema: options.schema };
}

/**
 * A stable 63-bit advisory lock key for `name` within `scope` (the schema): advisory locks are
 * per database, so two Keel clusters in two schemas of one database must not share keys.
 */
export function advisoryKey(scope: string, name: string): string {
  // FNV-1a 64-bit, as a signed bigint string for pg's bigint parameter.
  let h = 0xcbf29ce484222325n;
  for (const ch of Buffer.from(`keel\u0000${scope}\u0000${name}`, 'utf8')) {
    h ^= BigInt(ch);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h).toString();
}

/**
 * Runs `fn` while holding a session advisory lock on a dedicated connection: processes starting
 * together (six roles at once) create the schema and run migrations one after the other.
 */
export async function withStartupLock<T>(handle: PostgresHandle, name: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client(handle.clientConfig);
  client.on('error', () => undefined);
  await client.connect();
  const key = advisoryKey(handle.schema ?? '', name);
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

export async function ensureSchema(handle: PostgresHandle): Promise<void> {
  if (!handle.schema) return;
  const client = new pg.Client({ ...handle.clientConfig, options: undefined });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(handle.schema)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Errors that mean "the database cannot be reached right now", as opposed to a bad query. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  // SQLSTATE class 08 (connection exception) and 57P01-57P03 (server shutting down or starting).
  if (/^08/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return true;
  if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EPIPE') return true;
  // A socket reset under a query (the server died) carries the syscall; a client aborting its own
  // request body does not, and stays a 400.
  if (code === 'ECONNRESET' && typeof (e as { syscall?: unknown }).syscall === 'string') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}

/** The URL with any password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|token|key/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
