/** OpenID Connect providers, stored with their client secret sealed (AES-256-GCM). */
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import type { SecretBox } from '../../core/secrets.js';
import type { Role } from '../../people/people-service.js';
import type { Store } from '../../store/store.js';

export interface SsoProvider {
  id: string;
  displayName: string;
  issuer: string;
  clientId: string;
  /** Opened from its sealed form only when talking to the provider; never shown. */
  hasClientSecret: boolean;
  scopes: string;
  defaultTeam: string;
  defaultRole: Role;
  updatedAt: number;
  updatedBy: string;
}

export interface SsoProviderInput {
  displayName?: string;
  issuer: string;
  clientId: string;
  /** undefined: keep the stored one; null: remove it (public client). */
  clientSecret?: string | null;
  scopes?: string;
  defaultTeam: string;
  defaultRole: Role;
}

type Row = {
  id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  client_secret: string | null;
  scopes: string;
  default_team: string;
  default_role: string;
  updated_at: number;
  updated_by: string;
};

export class SsoProviderStore {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<SsoProvider[]> {
    return (await this.store.db.selectFrom('sso_providers').selectAll().orderBy('id').execute()).map(toProvider);
  }

  async get(id: string): Promise<SsoProvider | undefined> {
    const r = await this.store.db.selectFrom('sso_providers').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toProvider(r);
  }

  async require(id: string): Promise<SsoProvider> {
    const p = await this.get(id);
    if (!p) throw new KeelError('not_found', `single sign-on provider "${id}" not found`);
    return p;
  }

  async clientSecret(id: string): Promise<string | undefined> {
    const r = await this.store.db.selectFrom('sso_providers').select('client_secret').where('id', '=', id).executeTakeFirst();
    return r?.client_secret ? this.secrets.open(r.client_secret) : undefined;
  }

  async put(id: string, input: SsoProviderInput, actor: string): Promise<{ before?: SsoProvider; after: SsoProvider }> {
    const before = await this.get(id);
    const now = this.clock.now();
    const sealed = input.clientSecret === undefined ? undefined : input.clientSecret === null ? null : this.secrets.seal(input.clientSecret);
    const values = {
      display_name: input.displayName ?? before?.displayName ?? id,
      issuer: input.issuer,
      client_id: input.clientId,
      scopes: input.scopes ?? before?.scopes ?? 'openid email profile',
      default_team: input.defaultTeam,
      default_role: input.defaultRole,
      updated_at: now,
      updated_by: actor,
    };
    if (before) {
      await this.store.db
        .updateTable('sso_providers')
        .set({ ...values, ...(sealed !== undefined ? { client_secret: sealed } : {}) })
        .where('id', '=', id)
        .execute();
    } else {
      await this.store.db
        .insertInto('sso_providers')
        .values({ id, ...values, client_secret: sealed ?? null, created_at: now })
        .execute();
    }
    return { ...(before ? { before } : {}), after: (await this.get(id))! };
  }

  async remove(id: string): Promise<SsoProvider> {
    const p = await this.require(id);
    await this.store.db.deleteFrom('sso_providers').where('id', '=', id).execute();
    return p;
  }
}

function toProvider(r: Row): SsoProvider {
  return {
    id: r.id,
    displayName: r.display_name,
    issuer: r.issuer,
    clientId: r.client_id,
    hasClientSecret: r.client_secret !== null,
    scopes: r.scopes,
    defaultTeam: r.default_team,
    defaultRole: r.default_role as Role,
    updatedAt: Number(r.updated_at),
    updatedBy: r.updated_by,
  };
}
