/**
 * Notify's reads for its routes: incidents as a link or a delivery list shows them, the person a
 * link was sent to, the people who can be paged with their contact methods and rules, and which
 * definitions name a secret.
 */
import type { Incident, IncidentService } from '../incidents/incident-service.js';
import { Directory } from '../oncall/directory.js';
import type { Store } from '../../store/store.js';
import { secretUsers } from './secret-references.js';

/** Triggered incidents read per query by `waitingFor`. */
const WAITING_PAGE = 200;

export class NotifyQueries {
  constructor(
    private readonly store: Store,
    private readonly incidents: IncidentService,
  ) {}

  /** The incident (by id or number), or not_found. */
  incident(tenant: string, ref: string) {
    return this.incidents.require(this.store.db, tenant, ref);
  }

  /**
   * Triggered incidents that paged this person (a page was queued for them), newest first. The
   * triggered incidents are read page by page (few at any time) and those with a page to the
   * person kept, so none is missed however many are open.
   */
  async waitingFor(tenant: string, userId: string): Promise<Incident[]> {
    const db = this.store.db;
    const out: Incident[] = [];
    for (let before: { openedAt: number; number: number } | undefined; ;) {
      const page = await this.incidents.list(tenant, { states: ['triggered'], limit: WAITING_PAGE, ...(before ? { before } : {}) });
      if (page.length === 0) return out;
      const paged = await db
        .selectFrom('notification_jobs')
        .select('incident_id')
        .distinct()
        .where('tenant_id', '=', tenant)
        .where('user_id', '=', userId)
        .where(
          'incident_id',
          'in',
          page.map((i) => i.id),
        )
        .where((eb) => eb.or([eb('kind', 'is', null), eb('kind', '=', 'page')]))
        .execute();
      const ids = new Set(paged.map((r) => r.incident_id));
      out.push(...page.filter((i) => ids.has(i.id)));
      if (page.length < WAITING_PAGE) return out;
      const last = page[page.length - 1]!;
      before = { openedAt: last.openedAt, number: last.number };
    }
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
