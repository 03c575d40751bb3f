/**
 * Integration keys: what Alertmanager, PagerDuty Events v2 senders and heartbeat pingers present.
 * A key belongs to one tenant and one type (a heartbeat key cannot send Events v2), and usually
 * to one service (its alerts belong to that service); a key without a service sends alerts that
 * the tenant's Routes place. Keys are 32 characters (PagerDuty's routing-key length, which some
 * clients check), shown once, stored as a sha256 for lookup and sealed by the SecretBox.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { newId, randomBase62 } from '../../core/ids.js';
import type { SecretBox } from '../../core/secrets.js';
import type { Store } from '../../store/store.js';
import type { IntegrationKeysTable } from './tables.js';

export const INTEGRATION_TYPES = ['alertmanager', 'events-v2', 'heartbeat'] as const;
export type IntegrationType = (typeof INTEGRATION_TYPES)[number];

export interface IntegrationKey {
  id: string;
  tenant: string;
  service: string | null;
  type: IntegrationType;
  name: string;
  prefix: string;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export function hashIntegrationKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class IntegrationKeys {
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async create(input: { tenant: string; service: string | null; type: IntegrationType; name: string; createdBy: string }): Promise<{ key: string; info: IntegrationKey }> {
    const key = `ki${randomBase62(30)}`;
    const id = newId('int');
    const row: IntegrationKeysTable = {
      id,
      tenant_id: input.tenant,
      service: input.service,
      type: input.type,
      name: input.name,
      key_hash: hashIntegrationKey(key),
      sealed: this.box.seal(key),
      prefix: key.slice(0, 8),
      created_at: this.clock.now(),
      created_by: input.createdBy,
      revoked_at: null,
      last_used_at: null,
    };
    await this.store.db.insertInto('integration_keys').values(row).execute();
    return { key, info: toInfo(row) };
  }

  async list(tenant: string, filter: { service?: string; includeRevoked?: boolean } = {}): Promise<IntegrationKey[]> {
    let q = this.store.db.selectFrom('integration_keys').selectAll().where('tenant_id', '=', tenant).orderBy('created_at').orderBy('id');
    if (filter.service) q = q.where('service', '=', filter.service);
    if (!filter.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.execute()).map(toInfo);
  }

  async revoke(tenant: string, id: string): Promise<IntegrationKey> {
    const row = await this.store.db.selectFrom('integration_keys').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    if (!row) throw new KeelError('not_found', `integration key ${id} not found`);
    if (row.revoked_at === null) {
      const now = this.clock.now();
      await this.store.db.updateTable('integration_keys').set({ revoked_at: now }).where('id', '=', id).execute();
      row.revoked_at = now;
    }
    return toInfo(row);
  }

  /**
   * The key's record, for a request of `type`. Unknown or revoked keys: 401 (`unknownStatus`
   * 'not_found' makes it a 404, for keys sent in a body as Events v2 does); a key of another
   * type: 403.
   */
  async authenticate(key: string, type: IntegrationType, unknown: 'unauthorized' | 'not_found' = 'unauthorized'): Promise<IntegrationKey> {
    const row = await this.store.db.selectFrom('integration_keys').selectAll().where('key_hash', '=', hashIntegrationKey(key)).executeTakeFirst();
    if (!row || row.revoked_at !== null) {
      throw new KeelError(unknown, row ? 'this integration key has been revoked' : 'unknown integration key');
    }
    if (row.type !== type) throw new KeelError('forbidden', `this integration key is for ${row.type}, not ${type}`);
    const now = this.clock.now();
    // Written at most once a minute per key: a busy Alertmanager must not turn reads into writes.
    if ((this.lastUsedWritten.get(row.id) ?? 0) < now - 60_000) {
      this.lastUsedWritten.set(row.id, now);
      await this.store.db.updateTable('integration_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
    }
    return toInfo(row);
  }
}

function toInfo(r: IntegrationKeysTable): IntegrationKey {
  return {
    id: r.id,
    tenant: r.tenant_id,
    service: r.service,
    type: r.type as IntegrationType,
    name: r.name,
    prefix: r.prefix,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
