/**
 * Incidents that paged nobody (no escalation policy, a policy that does not exist, steps with
 * nobody to page, every page failed) say so loudly: a field on the incident (`paged_nobody` in the
 * API, a line in `keel incidents show/list`), a timeline entry, the metric
 * `keel_incidents_unpaged_total`, and a fallback: the tenant's admins are notified (their User
 * contact methods, else an email to their account address), unless `paging.unpagedFallback` is
 * `none`. Silence must never look like calm.
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../../core/clock.js';
import type { AfterCommit } from '../../core/after-commit.js';
import type { Incident } from '../incidents/incident-service.js';
import type { PagingMetrics } from '../incidents/prometheus.js';
import { appendTimeline } from '../incidents/timeline.js';
import type { NotifyService } from '../notify/notify-service.js';
import { Directory } from '../oncall/directory.js';
import type { Database } from '../../store/schema.js';
import { prepared } from '../../store/prepared.js';

/**
 * Open, unacknowledged incidents of a service that paged nobody: read through the partial index
 * incidents_unpaged_state (migration 0850), which holds only incidents that paged nobody.
 */
export const unpagedTriggeredIncidents = prepared((db) =>
  db.selectFrom('incidents').select('id').where('unpaged_at', 'is not', null).where('state', '=', 'triggered').where('service', 'is not', null),
);

export type UnpagedCause = 'no_policy' | 'policy_missing' | 'nobody_to_page' | 'pages_failed';
export type UnpagedFallback = 'admins' | 'none';

export interface UnpagedDeps {
  clock: Clock;
  notify: NotifyService;
  metrics?: PagingMetrics | undefined;
  fallback: UnpagedFallback;
}

export class UnpagedIncidents {
  constructor(private readonly deps: UnpagedDeps) {}

  /** Marks the incident (once), records it, counts it and notifies the fallback. */
  async mark(trx: Transaction<Database>, incident: Incident, cause: UnpagedCause, reason: string, fx: AfterCommit): Promise<void> {
    const now = this.deps.clock.now();
    const r = await trx.updateTable('incidents').set({ unpaged_reason: reason, unpaged_at: now }).where('id', '=', incident.id).where('unpaged_reason', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return;
    const admins = this.deps.fallback === 'admins' ? await adminsOf(trx, incident.tenant) : [];
    const fallback =
      this.deps.fallback === 'none'
        ? 'no fallback is configured (paging.unpagedFallback: none)'
        : admins.length
          ? `notifying the tenant's admins: ${admins.map((a) => Directory.label(a)).join(', ')}`
          : 'the tenant has no admin to notify';
    await appendTimeline(trx, incident, {
      at: now,
      actor: 'system',
      type: 'escalation',
      message: `Nobody was paged: ${reason}; ${fallback}`,
      data: { unpaged: cause, reason, fallback: this.deps.fallback, admins: admins.map((a) => a.id) },
    });
    const marked: Incident = { ...incident, unpaged: { reason, at: now } };
    for (const admin of admins) {
      // A defined User is paged through their own contact methods; any other admin by email.
      const jobs = admin.handle ? await this.deps.notify.pagePerson(trx, marked, admin, null, fx) : 0;
      if (jobs === 0) await this.deps.notify.notifyChannel(trx, marked, `admin ${admin.email}`, { type: 'email', address: admin.email }, null, fx);
    }
    fx.add(() => this.deps.metrics?.unpaged.inc({ tenant: incident.tenant, service: incident.service ?? '', reason: cause }));
  }
}

async function adminsOf(trx: Transaction<Database>, tenant: string) {
  const rows = await trx
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select(['users.id', 'users.email', 'users.name', 'users.time_zone'])
    .where('team_members.tenant_id', '=', tenant)
    .where('team_members.role', '=', 'admin')
    .orderBy('users.email')
    .execute();
  const directory = await Directory.load(trx, tenant);
  return rows.map((r) => {
    const defined = directory.id(r.id);
    return defined ?? { handle: null, id: r.id, email: r.email, name: r.name, timeZone: r.time_zone };
  });
}
