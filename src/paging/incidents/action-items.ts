/** Postmortem action items: tracked with an owner and a status, per incident and across them. */
import type { Transaction } from 'kysely';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Database, Db } from '../../store/schema.js';
import type { AfterCommit } from '../../core/after-commit.js';
import type { Incident } from './incident-service.js';
import type { IncidentActionItemsTable } from './tables.js';
import { appendTimeline } from './timeline.js';

export const ACTION_STATUSES = ['open', 'in_progress', 'done', 'wont_do'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

export interface ActionItem {
  id: string;
  incidentId: string;
  title: string;
  ownerUserId: string | null;
  status: ActionStatus;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

export class ActionItems {
  constructor(private readonly clock: Clock) {}

  async add(trx: Transaction<Database>, incident: Incident, input: { title: string; owner: { id: string; label: string } | null }, actor: string, _fx: AfterCommit): Promise<ActionItem> {
    const now = this.clock.now();
    const row: IncidentActionItemsTable = {
      id: newId('act'),
      tenant_id: incident.tenant,
      incident_id: incident.id,
      title: input.title,
      owner_user_id: input.owner?.id ?? null,
      status: 'open',
      created_at: now,
      updated_at: now,
      created_by: actor,
    };
    await trx.insertInto('incident_action_items').values(row).execute();
    await appendTimeline(trx, incident, {
      at: now,
      actor,
      type: 'action_item',
      message: `Action item added: ${input.title}${input.owner ? ` (owner ${input.owner.label})` : ''}`,
      data: { action_item: row.id },
    });
    return toItem(row);
  }

  async update(
    trx: Transaction<Database>,
    incident: Incident,
    id: string,
    patch: { title?: string; status?: ActionStatus; owner?: { id: string; label: string } | null },
    actor: string,
  ): Promise<ActionItem> {
    const row = await trx.selectFrom('incident_action_items').selectAll().where('id', '=', id).where('incident_id', '=', incident.id).executeTakeFirst();
    if (!row) throw new KeelError('not_found', `action item ${id} not found in incident #${incident.number}`);
    const now = this.clock.now();
    const set: Partial<IncidentActionItemsTable> = { updated_at: now };
    if (patch.title !== undefined) set.title = patch.title;
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.owner !== undefined) set.owner_user_id = patch.owner?.id ?? null;
    await trx.updateTable('incident_action_items').set(set).where('id', '=', id).execute();
    const changes = [
      patch.status !== undefined && patch.status !== row.status ? `status ${row.status} → ${patch.status}` : '',
      patch.owner !== undefined ? `owner ${patch.owner?.label ?? 'unassigned'}` : '',
      patch.title !== undefined && patch.title !== row.title ? `title "${patch.title}"` : '',
    ].filter(Boolean);
    if (changes.length) {
      await appendTimeline(trx, incident, { at: now, actor, type: 'action_item', message: `Action item ${row.title}: ${changes.join(', ')}`, data: { action_item: id, ...patch } });
    }
    return toItem({ ...row, ...set } as IncidentActionItemsTable);
  }

  async list(db: Db, tenant: string, filter: { incidentId?: string; status?: ActionStatus[]; owner?: string } = {}): Promise<ActionItem[]> {
    let q = db.selectFrom('incident_action_items').selectAll().where('tenant_id', '=', tenant).orderBy('created_at').orderBy('id');
    if (filter.incidentId) q = q.where('incident_id', '=', filter.incidentId);
    if (filter.status?.length) q = q.where('status', 'in', filter.status);
    if (filter.owner) q = q.where('owner_user_id', '=', filter.owner);
    return (await q.execute()).map(toItem);
  }
}

function toItem(r: IncidentActionItemsTable): ActionItem {
  return {
    id: r.id,
    incidentId: r.incident_id,
    title: r.title,
    ownerUserId: r.owner_user_id,
    status: r.status as ActionStatus,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    createdBy: r.created_by,
  };
}
