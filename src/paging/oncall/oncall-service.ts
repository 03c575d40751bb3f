/**
 * On-call from stored schedules: reads the Schedule definition and its overrides, computes with
 * `Rotation`, and names people (User name, email, user id). Overrides are rows (a person covers
 * a time range), created and removed through the API.
 */
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { readSpec, readSpecs } from '../../definitions/read-specs.js';
import type { Db } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { Directory, type Person } from './directory.js';
import { Rotation, type OverrideSpan, type ScheduleSpec } from './rotation.js';

/** Longest range one shifts query may cover. */
export const MAX_RANGE_MS = 366 * 86_400_000;

export interface PersonShift {
  schedule: string;
  start: number;
  end: number;
  /** Layer name or `override`. */
  source: string;
  person: Person;
}

export interface Override {
  id: string;
  schedule: string;
  userId: string;
  start: number;
  end: number;
  createdAt: number;
  createdBy: string;
}

export class OncallService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async schedule(db: Db, tenant: string, name: string): Promise<ScheduleSpec> {
    const spec = await readSpec<ScheduleSpec>(db, tenant, 'Schedule', name);
    if (!spec) throw new KeelError('not_found', `schedule "${name}" not found`);
    return spec;
  }

  /** A schedule's spec (404 for an unknown schedule). */
  requireSchedule(tenant: string, name: string): Promise<ScheduleSpec> {
    return this.schedule(this.store.db, tenant, name);
  }

  scheduleNamesOf(tenant: string): Promise<string[]> {
    return this.scheduleNames(this.store.db, tenant);
  }

  /** A person named in a request (User name, email or user id); 404 otherwise. */
  async person(tenant: string, ref: string): Promise<Person> {
    const db = this.store.db;
    const p = await (await Directory.load(db, tenant)).resolve(db, ref);
    if (!p) throw new KeelError('not_found', `user "${ref}" not found (a User name, email or user id)`);
    return p;
  }

  /** The people these user ids name (absent: not a member of the tenant any more). */
  async peopleByIds(tenant: string, ids: string[]): Promise<Map<string, Person>> {
    const db = this.store.db;
    const directory = await Directory.load(db, tenant);
    const out = new Map<string, Person>();
    for (const id of new Set(ids)) {
      const p = await directory.resolve(db, id);
      if (p) out.set(id, p);
    }
    return out;
  }

  async scheduleNames(db: Db, tenant: string): Promise<string[]> {
    return (await readSpecs(db, tenant, 'Schedule')).map((s) => s.name);
  }

  /** The rotation of a schedule with the overrides that touch [from, to). */
  async rotation(db: Db, tenant: string, name: string, from: number, to: number, directory?: Directory): Promise<{ rotation: Rotation; directory: Directory }> {
    const spec = await this.schedule(db, tenant, name);
    const dir = directory ?? (await Directory.load(db, tenant));
    const rows = await db.selectFrom('schedule_overrides').selectAll().where('tenant_id', '=', tenant).where('schedule', '=', name).where('end_at', '>', from).where('start_at', '<', to).execute();
    const overrides: OverrideSpan[] = rows.map((r) => ({
      id: r.id,
      // Layers name people by handle; overrides carry user ids: use the handle where there is one.
      user: dir.id(r.user_id)?.handle ?? r.user_id,
      start: Number(r.start_at),
      end: Number(r.end_at),
      createdAt: Number(r.created_at),
    }));
    return { rotation: new Rotation(spec, overrides), directory: dir };
  }

  async onCallAt(db: Db, tenant: string, name: string, at: number, directory?: Directory): Promise<{ person: Person; source: string } | null> {
    const { rotation, directory: dir } = await this.rotation(db, tenant, name, at, at + 1, directory);
    const who = rotation.at(at);
    if (!who) return null;
    const person = await dir.resolve(db, who.user);
    return person ? { person, source: who.source } : null;
  }

  /** Segments of [from, to): shifts with their people, and the gaps nobody covers. */
  async segments(
    tenant: string,
    name: string,
    from: number,
    to: number,
    options: { whole?: boolean } = {},
  ): Promise<{ shifts: PersonShift[]; gaps: { start: number; end: number }[]; timeZone: string }> {
    if (!(to > from)) throw new KeelError('validation_failed', 'until must be after at', { details: [{ path: 'until', message: 'must be after at' }] });
    if (to - from > MAX_RANGE_MS) throw new KeelError('validation_failed', `the range may cover at most 366 days`, { details: [{ path: 'until', message: 'at most 366 days after at' }] });
    const db = this.store.db;
    // Whole shifts may reach beyond the range: read the overrides that could extend them too.
    const reach = options.whole ? MAX_RANGE_MS : 0;
    const { rotation, directory } = await this.rotation(db, tenant, name, from - reach, to + reach);
    const shifts: PersonShift[] = [];
    const gaps: { start: number; end: number }[] = [];
    for (const s of options.whole ? rotation.wholeSegments(from, to, reach) : rotation.segments(from, to)) {
      if (s.user === null) {
        gaps.push({ start: s.start, end: s.end });
        continue;
      }
      const person = (await directory.resolve(db, s.user)) ?? { handle: s.user, id: null, email: '', name: s.user, timeZone: 'UTC' };
      shifts.push({ schedule: name, start: s.start, end: s.end, source: s.source!, person });
    }
    return { shifts, gaps, timeZone: rotation.spec.timeZone };
  }

  /** A person's shifts across every schedule of the tenant. */
  async shiftsOf(tenant: string, person: Person, from: number, to: number, options: { whole?: boolean } = {}): Promise<PersonShift[]> {
    const out: PersonShift[] = [];
    for (const name of await this.scheduleNames(this.store.db, tenant)) {
      const { shifts } = await this.segments(tenant, name, from, to, options);
      out.push(...shifts.filter((s) => (person.id !== null && s.person.id === person.id) || (person.handle !== null && s.person.handle === person.handle)));
    }
    return out.sort((a, b) => a.start - b.start);
  }

  async addOverride(tenant: string, schedule: string, userId: string, start: number, end: number, actor: string): Promise<Override> {
    await this.schedule(this.store.db, tenant, schedule);
    if (!(end > start)) throw new KeelError('validation_failed', 'end must be after start', { details: [{ path: 'end', message: 'must be after start' }] });
    const o: Override = { id: newId('ovr'), schedule, userId, start, end, createdAt: this.clock.now(), createdBy: actor };
    await this.store.db
      .insertInto('schedule_overrides')
      .values({ id: o.id, tenant_id: tenant, schedule, user_id: userId, start_at: start, end_at: end, created_at: o.createdAt, created_by: actor })
      .execute();
    return o;
  }

  async overrides(tenant: string, schedule: string, from?: number): Promise<Override[]> {
    let q = this.store.db.selectFrom('schedule_overrides').selectAll().where('tenant_id', '=', tenant).where('schedule', '=', schedule).orderBy('start_at');
    if (from !== undefined) q = q.where('end_at', '>', from);
    return (await q.execute()).map((r) => ({
      id: r.id,
      schedule: r.schedule,
      userId: r.user_id,
      start: Number(r.start_at),
      end: Number(r.end_at),
      createdAt: Number(r.created_at),
      createdBy: r.created_by,
    }));
  }

  async removeOverride(tenant: string, schedule: string, id: string): Promise<Override> {
    const all = await this.overrides(tenant, schedule);
    const o = all.find((x) => x.id === id);
    if (!o) throw new KeelError('not_found', `override ${id} not found in schedule "${schedule}"`);
    await this.store.db.deleteFrom('schedule_overrides').where('tenant_id', '=', tenant).where('id', '=', id).execute();
    return o;
  }
}
