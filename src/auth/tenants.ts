/** Tenants: every event, key and definition belongs to one. */
import { KeelError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';

export const SYSTEM_TENANT = 'default';
export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface Tenant {
  id: string;
  createdAt: number;
  eventsPerSecond: number | null;
  burst: number | null;
  paused: boolean;
}

export interface TenantQuotaUpdate {
  eventsPerSecond?: number | null | undefined;
  burst?: number | null | undefined;
  paused?: boolean | undefined;
}

export function assertTenantId(id: string): void {
  if (!TENANT_ID.test(id)) {
    throw new KeelError('validation_failed', `tenant "${id}" is not a valid name: use 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit`, {
      details: [{ path: 'tenant', message: 'invalid tenant name' }],
    });
  }
}

export class TenantService {
  private listeners: ((t: Tenant) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Called whenever a tenant's settings change, so caches (quotas) can follow. */
  onChange(fn: (t: Tenant) => void): void {
    this.listeners.push(fn);
  }

  async get(id: string): Promise<Tenant | undefined> {
    const row = await this.store.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTenant(row);
  }

  async require(id: string): Promise<Tenant> {
    const t = await this.get(id);
    if (!t) throw new KeelError('not_found', `tenant "${id}" not found`);
    return t;
  }

  async list(): Promise<Tenant[]> {
    const rows = await this.store.db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map(toTenant);
  }

  /** Creates the tenant unless it exists; returns it and whether it was created. */
  async ensure(id: string, settings: TenantQuotaUpdate = {}): Promise<{ tenant: Tenant; created: boolean }> {
    assertTenantId(id);
    const existing = await this.get(id);
    if (existing) return { tenant: existing, created: false };
    await this.store.db
      .insertInto('tenants')
      .values({
        id,
        created_at: this.clock.now(),
        events_per_second: settings.eventsPerSecond ?? null,
        burst: settings.burst ?? null,
        paused: settings.paused ? 1 : 0,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const tenant = await this.require(id);
    return { tenant, created: true };
  }

  async update(id: string, patch: TenantQuotaUpdate): Promise<{ before: Tenant; after: Tenant }> {
    const before = await this.require(id);
    const values: Partial<{ events_per_second: number | null; burst: number | null; paused: number }> = {};
    if (patch.eventsPerSecond !== undefined) values.events_per_second = patch.eventsPerSecond;
    if (patch.burst !== undefined) values.burst = patch.burst;
    if (patch.paused !== undefined) values.paused = patch.paused ? 1 : 0;
    if (Object.keys(values).length > 0) {
      await this.store.db.updateTable('tenants').set(values).where('id', '=', id).execute();
    }
    const after = await this.require(id);
    for (const fn of this.listeners) fn(after);
    return { before, after };
  }
}

function toTenant(row: { id: string; created_at: number; events_per_second: number | null; burst: number | null; paused: number }): Tenant {
  return {
    id: row.id,
    createdAt: Number(row.created_at),
    eventsPerSecond: row.events_per_second,
    burst: row.burst,
    paused: row.paused === 1,
  };
}
