/** A tenant's SMTP server for email notifications; the password is stored sealed (its own column) and never returned. */
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { SecretBox } from '../../core/secrets.js';
import type { Store } from '../../store/store.js';

export const smtpSettingsBody = z
  .object({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().max(320).optional(),
    password: z.string().max(1000).optional(),
    from: z.string().min(3).max(320),
    /** Refuse to send without TLS (default false: local relays often have none). */
    requireTls: z.boolean().default(false),
  })
  .strict();

export type SmtpSettingsInput = z.output<typeof smtpSettingsBody>;

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string | undefined;
  password?: string;
  from: string;
  requireTls: boolean;
}

type Stored = Omit<SmtpSettings, 'password'>;

export class SmtpSettingsStore {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  async set(tenant: string, input: SmtpSettingsInput): Promise<void> {
    const { password, ...rest } = input;
    const stored: Stored = rest;
    const sealed = password !== undefined ? this.box.seal(password) : null;
    const now = this.clock.now();
    const value_json = JSON.stringify(stored);
    await this.store.db
      .insertInto('paging_settings')
      .values({ tenant_id: tenant, key: 'smtp', value_json, sealed, updated_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet({ value_json, sealed, updated_at: now }))
      .execute();
  }

  /** What the API shows: everything except the password (only whether one is set). */
  async view(tenant: string): Promise<(Omit<SmtpSettings, 'password'> & { password_set: boolean }) | undefined> {
    const s = await this.stored(tenant);
    if (!s) return undefined;
    return { ...s.value, password_set: s.sealed !== null };
  }

  async get(tenant: string): Promise<SmtpSettings | undefined> {
    const s = await this.stored(tenant);
    if (!s) return undefined;
    return { ...s.value, ...(s.sealed !== null ? { password: this.box.open(s.sealed) } : {}) };
  }

  async remove(tenant: string): Promise<boolean> {
    const r = await this.store.db.deleteFrom('paging_settings').where('tenant_id', '=', tenant).where('key', '=', 'smtp').executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  private async stored(tenant: string): Promise<{ value: Stored; sealed: string | null } | undefined> {
    const row = await this.store.db.selectFrom('paging_settings').select(['value_json', 'sealed']).where('tenant_id', '=', tenant).where('key', '=', 'smtp').executeTakeFirst();
    return row ? { value: JSON.parse(row.value_json) as Stored, sealed: row.sealed } : undefined;
  }
}
