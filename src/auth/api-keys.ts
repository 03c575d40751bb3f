/**
 * API keys: created with a tenant and scopes, shown once, stored as a hash, listed by prefix,
 * revoked by id. Authentication is one hash and one cached lookup per request.
 */
import { KeelError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';
import { newId } from '../core/ids.js';
import { generateApiKey, hashApiKey, keyPrefix } from './api-key-format.js';
import { SCOPES, isScope, permissionsOfScopes, type Scope } from './permissions.js';
import type { KeyPrincipal } from './principal.js';
import { SYSTEM_TENANT, type TenantService } from './tenants.js';

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

interface CachedKey {
  principal: KeyPrincipal | undefined;
  revoked: boolean;
  expires: number;
}

/** A key seen in the last few seconds is not looked up again; revocation here clears it at once. */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_KEYS = 50_000;
const LAST_USED_RESOLUTION_MS = 60_000;
/**
 * Last-use times are written together, at most once per this interval, in one transaction: with
 * a thousand tenants each key's first request would otherwise cost its own synchronous commit
 * (about 5 ms on SQLite, on the event loop), which halved ingest throughput in
 * `keel bench ingest --tenants 1000`.
 */
const LAST_USED_FLUSH_MS = 1_000;

export class ApiKeyService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly lastUsedPending = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly tenants: TenantService,
    private readonly clock: Clock,
  ) {}

  async create(input: { tenant: string; name?: string; scopes: string[]; createdBy: string; key?: string }): Promise<{ key: string; info: ApiKeyInfo; tenantCreated: boolean }> {
    const scopes = parseScopes(input.scopes);
    const { created } = await this.tenants.ensure(input.tenant);
    const key = input.key ?? generateApiKey();
    const id = newId('key');
    const now = this.clock.now();
    await this.store.db
      .insertInto('api_keys')
      .values({
        id,
        tenant_id: input.tenant,
        name: input.name ?? '',
        prefix: keyPrefix(key),
        hash: hashApiKey(key),
        scopes: scopes.join(','),
        created_at: now,
        created_by: input.createdBy,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    const info = await this.get(id);
    return { key, info: info!, tenantCreated: created };
  }

  async get(id: string): Promise<ApiKeyInfo | undefined> {
    const row = await this.store.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInfo(row);
  }

  async list(filter: { tenant?: string; includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
    let q = this.store.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
    if (filter.tenant) q = q.where('tenant_id', '=', filter.tenant);
    if (!filter.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.execute()).map(toInfo);
  }

  async count(): Promise<number> {
    const r = await this.store.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async revoke(id: string): Promise<{ before: ApiKeyInfo; after: ApiKeyInfo }> {
    const before = await this.get(id);
    if (!before) throw new KeelError('not_found', `API key ${id} not found`);
    if (before.revokedAt === null) {
      await this.store.db.updateTable('api_keys').set({ revoked_at: this.clock.now() }).where('id', '=', id).execute();
    }
    this.cache.clear();
    const after = (await this.get(id))!;
    return { before, after };
  }

  /** The principal a key acts as, or a 401 saying why not. */
  async authenticate(key: string): Promise<KeyPrincipal> {
    const hash = hashApiKey(key);
    const now = this.clock.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expires < now) {
      const row = await this.store.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
      entry = {
        principal: row ? toPrincipal(row) : undefined,
        revoked: row ? row.revoked_at !== null : false,
        expires: now + CACHE_TTL_MS,
      };
      // Bounded: the oldest entry goes (a Map keeps insertion order), so ten thousand tenants'
      // keys do not empty the whole cache at once and send every key back to the store together.
      if (this.cache.size >= CACHE_MAX_KEYS) this.cache.delete(this.cache.keys().next().value!);
      this.cache.delete(hash);
      this.cache.set(hash, entry);
    }
    if (!entry.principal) throw new KeelError('unauthorized', 'invalid API key');
    if (entry.revoked) throw new KeelError('unauthorized', 'API key has been revoked');
    this.touch(entry.principal.keyId, now);
    return entry.principal;
  }

  /** Records last use at most once a minute per key, off the request's path, batched. */
  private touch(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(id, now);
    this.lastUsedPending.set(id, now);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flushLastUsed();
    }, LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Writes the pending last-use times now (also at shutdown); never throws: last use is advisory. */
  async flushLastUsed(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const run = async () => {
      if (this.lastUsedPending.size === 0) return;
      const batch = [...this.lastUsedPending];
      this.lastUsedPending.clear();
      await this.store.db
        .transaction()
        .execute(async (tx) => {
          for (const [id, at] of batch) await tx.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
        })
        .catch(() => undefined);
    };
    this.flushing = this.flushing.then(run);
    return this.flushing;
  }
}

export function parseScopes(scopes: string[]): Scope[] {
  const flat = scopes
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (flat.length === 0) {
    throw new KeelError('validation_failed', `a key needs at least one scope: ${SCOPES.join(', ')}`, {
      details: [{ path: 'scopes', message: 'must not be empty' }],
    });
  }
  const bad = flat.filter((s) => !isScope(s));
  if (bad.length) {
    throw new KeelError('validation_failed', `unknown scope(s): ${bad.join(', ')}; valid scopes are ${SCOPES.join(', ')}`, {
      details: [{ path: 'scopes', message: `unknown scope(s): ${bad.join(', ')}` }],
    });
  }
  return [...new Set(flat)] as Scope[];
}

type KeyRow = {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
};

function toInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    tenant: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes.split(',').filter(isScope),
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function toPrincipal(row: KeyRow): KeyPrincipal {
  const scopes = row.scopes.split(',').filter(isScope);
  const superuser = row.tenant_id === SYSTEM_TENANT && scopes.includes('admin');
  return {
    kind: 'key',
    tenant: row.tenant_id,
    keyId: row.id,
    keyPrefix: row.prefix,
    scopes,
    permissions: permissionsOfScopes(scopes, superuser),
    superuser,
    actor: `key:${row.prefix}`,
  };
}
