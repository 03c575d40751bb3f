/**
 * The people paging knows in a tenant: User definitions (by name) joined with the users table
 * (by email), so schedules and policies can name `alice` while pages, roles and metrics carry
 * the user id. A reference is a User name, an email or a user id.
 */
import { readSpecs } from '../../definitions/read-specs.js';
import type { Db } from '../../store/schema.js';

export interface Person {
  /** User definition name, when the user is defined in this tenant. */
  handle: string | null;
  id: string | null;
  email: string;
  name: string;
  timeZone: string;
}

export class Directory {
  private constructor(
    private readonly tenant: string,
    private readonly byHandle: Map<string, Person>,
    private readonly byId: Map<string, Person>,
    private readonly byEmail: Map<string, Person>,
  ) {}

  static async load(db: Db, tenant: string): Promise<Directory> {
    const defs = await readSpecs<{ email: string; name: string; timeZone: string }>(db, tenant, 'User');
    const emails = defs.map((d) => d.spec.email.toLowerCase());
    const rows = emails.length ? await db.selectFrom('users').selectAll().where('email', 'in', emails).execute() : [];
    const idOf = new Map(rows.map((r) => [r.email, r.id]));
    const byHandle = new Map<string, Person>();
    const byId = new Map<string, Person>();
    const byEmail = new Map<string, Person>();
    for (const d of defs) {
      const email = d.spec.email.toLowerCase();
      const p: Person = { handle: d.name, id: idOf.get(email) ?? null, email, name: d.spec.name, timeZone: d.spec.timeZone };
      byHandle.set(d.name, p);
      byEmail.set(email, p);
      if (p.id) byId.set(p.id, p);
    }
    return new Directory(tenant, byHandle, byId, byEmail);
  }

  handle(name: string): Person | undefined {
    return this.byHandle.get(name);
  }

  id(id: string): Person | undefined {
    return this.byId.get(id);
  }

  all(): Person[] {
    return [...this.byHandle.values()];
  }

  /** A User name, an email or a user id; members of the tenant without a User definition too. */
  async resolve(db: Db, ref: string): Promise<Person | undefined> {
    const known = this.byHandle.get(ref) ?? this.byId.get(ref) ?? this.byEmail.get(ref.toLowerCase());
    if (known) return known;
    // Beyond the tenant's User definitions, only members of the tenant: another tenant's people
    // are neither found nor revealed.
    const q = db.selectFrom('users').innerJoin('team_members', 'team_members.user_id', 'users.id').selectAll('users').where('team_members.tenant_id', '=', this.tenant);
    const row = ref.includes('@') ? await q.where('users.email', '=', ref.toLowerCase()).executeTakeFirst() : await q.where('users.id', '=', ref).executeTakeFirst();
    return row ? { handle: null, id: row.id, email: row.email, name: row.name, timeZone: row.time_zone } : undefined;
  }

  /** How a person is shown: their User name, else their email. */
  static label(p: Person): string {
    return p.handle ?? p.email;
  }
}

export async function personById(db: Db, tenant: string, id: string): Promise<Person | undefined> {
  return (await Directory.load(db, tenant)).resolve(db, id);
}
