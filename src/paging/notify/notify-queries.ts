/**
 * Notify's reads for its routes: incidents as a link or a delivery list shows them, the person a
 * link was sent to, the people who can be paged with their contact methods and rules, and which
 * definitions name a secret.
 */
import type { IncidentService } from '../incidents/incident-service.js';
import { Directory } from '../oncall/directory.js';
import type { Store } from '../../store/store.js';
import { secretUsers } from './secret-references.js';

export class NotifyQueries {
  constructor(
    private readonly store: Store,
    private readonly incidents: IncidentService,
  ) {}

  /** The incident (by id or number), or not_found. */
  incident(tenant: string, ref: string) {
    return this.incidents.require(this.store.db, tenant, ref);
  }

  /** The person a link was sent to (by user id or handle), if still known. */
  async linkPerson(tenant: string, user: string) {
    const db = this.store.db;
    return (await Directory.load(db, tenant)).resolve(db, user);
  }

  /** The definitions that name this secret (kind/name). */
  secretUsers(tenant: string, name: string): Promise<string[]> {
    return secretUsers(this.store.db, tenant, name);
  }

  /** Everyone who can be paged, with their contact methods and notification rules. */
  async people(tenant: string) {
    const db = this.store.db;
    const directory = await Directory.load(db, tenant);
    const methods = await db.selectFrom('contact_methods').selectAll().where('tenant_id', '=', tenant).orderBy('name').execute();
    const rules = await db.selectFrom('notification_rules').selectAll().where('tenant_id', '=', tenant).orderBy('position').execute();
    return directory.all().map((p) => ({
      handle: p.handle,
      user_id: p.id,
      email: p.email,
      name: p.name,
      time_zone: p.timeZone,
      contact_methods: methods.filter((m) => m.user_id === p.id).map((m) => ({ name: m.name, ...(JSON.parse(m.config_json) as object) })),
      notification_rules: rules.filter((r) => r.user_id === p.id).map((r) => ({ after_ms: Number(r.delay_ms), contact_method: r.contact_method })),
    }));
  }
}
