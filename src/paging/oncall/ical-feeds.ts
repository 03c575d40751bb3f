/**
 * Calendar feed tokens (the `ical_feeds` table): created with the token shown once, found by the
 * token's hash when a calendar app fetches a feed, listed and revoked.
 */
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Store } from '../../store/store.js';
import { hashFeedToken, newFeedToken } from './ical.js';

export type FeedKind = 'schedule' | 'user';

export interface IcalFeed {
  id: string;
  tenant: string;
  kind: string;
  target: string;
  createdAt: number;
  createdBy: string;
  revoked: boolean;
}

export class IcalFeeds {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** A new feed and its token (stored only as a hash). */
  async create(tenant: string, kind: FeedKind, target: string, actor: string): Promise<{ id: string; token: string }> {
    const { token, hash } = newFeedToken();
    const id = newId('feed');
    await this.store.db.insertInto('ical_feeds').values({ id, token_hash: hash, tenant_id: tenant, kind, target, created_at: this.clock.now(), created_by: actor, revoked_at: null }).execute();
    return { id, token };
  }

  async byToken(token: string): Promise<IcalFeed | undefined> {
    const r = await this.store.db.selectFrom('ical_feeds').selectAll().where('token_hash', '=', hashFeedToken(token)).executeTakeFirst();
    return r ? { id: r.id, tenant: r.tenant_id, kind: r.kind, target: r.target, createdAt: Number(r.created_at), createdBy: r.created_by, revoked: r.revoked_at !== null } : undefined;
  }

  /** The tenant's feeds that are not revoked, oldest first. */
  async list(tenant: string): Promise<IcalFeed[]> {
    const rows = await this.store.db.selectFrom('ical_feeds').selectAll().where('tenant_id', '=', tenant).where('revoked_at', 'is', null).orderBy('created_at').execute();
    return rows.map((r) => ({ id: r.id, tenant: r.tenant_id, kind: r.kind, target: r.target, createdAt: Number(r.created_at), createdBy: r.created_by, revoked: false }));
  }

  /** Revokes a feed (404 for an unknown or already revoked one). */
  async revoke(tenant: string, id: string): Promise<void> {
    const r = await this.store.db
      .updateTable('ical_feeds')
      .set({ revoked_at: this.clock.now() })
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new KeelError('not_found', `feed ${id} not found`);
  }
}
