/**
 * Writes and keeps postmortems: gathers the incident, roles, timeline, alerts, action items and
 * the SLO impact (from the registered provider), renders the Markdown, stores it. A stored
 * postmortem can be replaced by an edited one; closing an incident requires one.
 */
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Store } from '../../store/store.js';
import { Directory } from '../oncall/directory.js';
import type { ActionItems } from './action-items.js';
import type { AfterCommit } from '../../core/after-commit.js';
import type { Incident, IncidentService } from './incident-service.js';
import { renderPostmortem } from './postmortem.js';
import type { SloImpact, SloImpactProvider } from './slo-impact.js';
import { appendTimeline, readTimeline } from './timeline.js';

export interface StoredPostmortem {
  incidentId: string;
  markdown: string;
  createdAt: number;
  updatedAt: number;
  author: string;
  /** Set when a person stored it (an edit), not the generator. */
  edited: { at: number; by: string } | null;
}

export class PostmortemService {
  private readonly providers: SloImpactProvider[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly incidents: IncidentService,
    private readonly actions: ActionItems,
  ) {}

  registerSloImpactProvider(p: SloImpactProvider): void {
    this.providers.push(p);
  }

  async render(incident: Incident): Promise<string> {
    const db = this.store.db;
    const directory = await Directory.load(db, incident.tenant);
    const label = async (id: string) => {
      const p = await directory.resolve(db, id);
      return p ? `${p.name} (${Directory.label(p)})` : id;
    };
    const roles = await Promise.all((await this.incidents.roles(db, incident.id)).map(async (r) => ({ role: r.role, person: await label(r.userId) })));
    const alerts = await db
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select(['alerts.summary', 'alerts.severity', 'alerts.source', 'alerts.first_seen', 'alerts.last_seen', 'alerts.count', 'alerts.resolved_at'])
      .where('incident_alerts.incident_id', '=', incident.id)
      .orderBy('alerts.first_seen')
      .execute();
    const items = await this.actions.list(db, incident.tenant, { incidentId: incident.id });
    const actionItems = await Promise.all(items.map(async (a) => ({ id: a.id, title: a.title, owner: a.ownerUserId ? await label(a.ownerUserId) : null, status: a.status })));
    const now = this.clock.now();
    const { impact, impactError } = await this.sloImpact(incident);
    return renderPostmortem({
      incident,
      roles,
      timeline: await readTimeline(db, incident.id),
      alerts: alerts.map((a) => ({
        summary: a.summary,
        severity: a.severity,
        source: a.source,
        firstSeen: Number(a.first_seen),
        lastSeen: Number(a.last_seen),
        count: Number(a.count),
        resolvedAt: a.resolved_at === null ? null : Number(a.resolved_at),
      })),
      actionItems,
      impact,
      ...(impactError ? { impactError } : {}),
      generatedAt: now,
    });
  }

  /**
   * The error budget the incident cost each SLO of its service (null when no SLO engine is
   * registered); a failed lookup is reported, not thrown, so a postmortem still renders.
   */
  async sloImpact(incident: Incident): Promise<{ impact: SloImpact[] | null; impactError?: string }> {
    if (!this.providers.length) return { impact: null };
    if (!incident.service) return { impact: [] };
    const impact: SloImpact[] = [];
    try {
      for (const p of this.providers) impact.push(...(await p.impact(incident.tenant, incident.service, incident.openedAt, incident.resolvedAt ?? this.clock.now(), incident.id)));
      return { impact };
    } catch (err) {
      this.logger.warn({ err, incident: incident.id }, 'SLO impact lookup failed');
      return { impact, impactError: (err as Error).message };
    }
  }

  /**
   * Stores `markdown` (generated or edited) as the incident's postmortem. A generated one never
   * replaces an edited one unless `force`: 409, so nobody's writing is lost to a regeneration.
   */
  async save(incident: Incident, markdown: string, author: string, generated: boolean, force = false): Promise<StoredPostmortem> {
    const now = this.clock.now();
    return this.incidents.inTransaction(async (trx, _fx: AfterCommit) => {
      const existing = await trx.selectFrom('incident_postmortems').select(['created_at', 'edited_at', 'edited_by']).where('incident_id', '=', incident.id).executeTakeFirst();
      if (generated && !force && existing?.edited_at !== null && existing?.edited_at !== undefined) {
        throw new KeelError(
          'conflict',
          `the postmortem of incident #${incident.number} was edited (by ${existing.edited_by ?? 'someone'} at ${new Date(Number(existing.edited_at)).toISOString()}); regenerating would overwrite it: use --force (?force=true) to replace it, or edit it (keel incidents postmortem edit ${incident.number})`,
        );
      }
      const edited = generated ? { edited_at: null, edited_by: null } : { edited_at: now, edited_by: author };
      await trx
        .insertInto('incident_postmortems')
        .values({ incident_id: incident.id, tenant_id: incident.tenant, markdown, created_at: now, updated_at: now, author, ...edited })
        .onConflict((oc) => oc.column('incident_id').doUpdateSet({ markdown, updated_at: now, author, ...edited }))
        .execute();
      await appendTimeline(trx, incident, {
        at: now,
        actor: author,
        type: 'postmortem',
        message: `Postmortem ${existing ? 'updated' : 'written'}${generated ? ' (generated)' : ''}`,
        data: { bytes: Buffer.byteLength(markdown) },
      });
      return { incidentId: incident.id, markdown, createdAt: existing ? Number(existing.created_at) : now, updatedAt: now, author, edited: generated ? null : { at: now, by: author } };
    });
  }

  async get(incidentId: string): Promise<StoredPostmortem | undefined> {
    const r = await this.store.db.selectFrom('incident_postmortems').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
    return (
      r && {
        incidentId: r.incident_id,
        markdown: r.markdown,
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
        author: r.author,
        edited: r.edited_at === null || r.edited_at === undefined ? null : { at: Number(r.edited_at), by: r.edited_by ?? r.author },
      }
    );
  }
}
