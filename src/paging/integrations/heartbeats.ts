/**
 * Heartbeats (dead-man's switches): `keel/v1 Heartbeat` says a service pings every `interval`
 * (`POST /v1/heartbeats/:name`). A leader-only checker raises an alert (source `heartbeat`)
 * through AlertService when a ping is overdue by more than `grace`, in the transaction that marks
 * the heartbeat down; the next ping resolves it. The clock starts when the heartbeat is defined,
 * so one that never pings alerts too. Due times are rows, so a restart loses no deadline.
 */
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { AlertService, SignalResult } from '../../alerting/alert-service.js';
import type { Clock } from '../../core/clock.js';
import { KeelError } from '../../core/errors.js';
import { parseDurationMs } from '../../core/time.js';
import type { KindHandler } from '../../definitions/kinds.js';
import { missingReference, specParser, type WithMetadata } from '../../definitions/spec-parser.js';
import type { Database, DbFence } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import type { HeartbeatsTable } from './tables.js';
import { BackgroundLoop } from '../../core/background-loop.js';

const duration = (min: number, max: number, example: string) =>
  z.string().refine((v) => {
    const ms = parseDurationMs(v);
    return Number.isFinite(ms) && ms >= min && ms <= max;
  }, `a duration from ${example}`);

export const heartbeatSpecSchema = z
  .object({
    service: z.string().min(1),
    /** A ping is expected at least this often. */
    interval: duration(1000, 31 * 86_400_000, '1s to 31d, e.g. 5m, 1h, 25h'),
    /** Extra time allowed after the interval before the alert. */
    grace: duration(0, 31 * 86_400_000, '0s to 31d, e.g. 0s, 2m').default('0s'),
    severity: z.string().min(1).max(50).default('page'),
    summary: z.string().max(1024).optional(),
  })
  .strict();

export type HeartbeatDefinition = WithMetadata<z.output<typeof heartbeatSpecSchema>>;

export function heartbeatDedupKey(name: string): string {
  return `heartbeat/${name}`;
}

function missedSignal(hb: HeartbeatsTable, summary: string | undefined, at: number) {
  const minutes = Math.round(Number(hb.interval_ms) / 60_000);
  return {
    tenant: hb.tenant_id,
    dedupKey: heartbeatDedupKey(hb.name),
    source: 'heartbeat',
    status: 'firing' as const,
    severity: hb.severity,
    summary: summary ?? `Heartbeat ${hb.name} missed: no ping for ${minutes >= 1 ? `${minutes} min` : `${Math.round(Number(hb.interval_ms) / 1000)} s`}`,
    labels: { heartbeat: hb.name, alertname: 'HeartbeatMissed' },
    details: {
      last_ping_at: hb.last_ping_at === null ? null : new Date(Number(hb.last_ping_at)).toISOString(),
      due_at: new Date(Number(hb.due_at)).toISOString(),
      description: `No ping arrived for heartbeat ${hb.name} of service ${hb.service} by ${new Date(Number(hb.due_at)).toISOString()}.`,
    },
    service: hb.service,
    at,
  };
}

export function heartbeatKind(deps: { clock: Clock; alerts: AlertService }): KindHandler<HeartbeatDefinition> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Heartbeat',
    order: 15,
    parse: specParser(heartbeatSpecSchema),
    validate: (spec, _name, ctx) => missingReference(ctx, 'Service', spec.service, ['spec', 'service']),
    onChange: async (trx, tenant, change) => {
      const now = deps.clock.now();
      const after = change.after?.spec as HeartbeatDefinition | undefined;
      const existing = await trx.selectFrom('heartbeats').selectAll().where('tenant_id', '=', tenant).where('name', '=', change.name).executeTakeFirst();
      if (!after) {
        if (existing?.status === 'down') {
          await deps.alerts.signalIn(trx, { ...missedSignal(existing, undefined, now), status: 'resolved', summary: `Heartbeat ${change.name} deleted` });
        }
        await trx.deleteFrom('heartbeats').where('tenant_id', '=', tenant).where('name', '=', change.name).execute();
        return;
      }
      const interval = parseDurationMs(after.interval);
      const grace = parseDurationMs(after.grace);
      const from = existing?.last_ping_at ?? now;
      const row: HeartbeatsTable = {
        tenant_id: tenant,
        name: change.name,
        service: after.service,
        interval_ms: interval,
        grace_ms: grace,
        severity: after.severity,
        last_ping_at: existing?.last_ping_at ?? null,
        due_at: Number(from) + interval + grace,
        status: existing?.status ?? 'up',
        updated_at: now,
      };
      await trx
        .insertInto('heartbeats')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'name']).doUpdateSet({ service: row.service, interval_ms: row.interval_ms, grace_ms: row.grace_ms, severity: row.severity, due_at: row.due_at, updated_at: now }),
        )
        .execute();
    },
  };
}

export interface HeartbeatView {
  name: string;
  service: string;
  status: string;
  interval_ms: number;
  grace_ms: number;
  last_ping_at: string | null;
  due_at: string;
}

export function heartbeatView(r: HeartbeatsTable): HeartbeatView {
  return {
    name: r.name,
    service: r.service,
    status: r.status,
    interval_ms: Number(r.interval_ms),
    grace_ms: Number(r.grace_ms),
    last_ping_at: r.last_ping_at === null ? null : new Date(Number(r.last_ping_at)).toISOString(),
    due_at: new Date(Number(r.due_at)).toISOString(),
  };
}

export class HeartbeatService {
  /** The checker: one tenure per leadership, fenced by that tenure's fence. */
  private readonly loop: BackgroundLoop<DbFence | undefined>;

  constructor(private readonly deps: { store: Store; clock: Clock; alerts: AlertService; logger: Logger; pollIntervalMs: number }) {
    this.loop = new BackgroundLoop(
      (tenure) => this.round(tenure.context),
      (err) => {
        deps.logger.error({ err }, 'heartbeat check failed; retrying');
        return Math.max(deps.pollIntervalMs, 5);
      },
    );
  }

  async list(tenant: string): Promise<HeartbeatView[]> {
    const rows = await this.deps.store.db.selectFrom('heartbeats').selectAll().where('tenant_id', '=', tenant).orderBy('name').execute();
    return rows.map(heartbeatView);
  }

  /** A ping from a key of `service` (null: a key of the whole tenant). */
  async ping(tenant: string, service: string | null, name: string): Promise<HeartbeatView> {
    const { store, clock, alerts } = this.deps;
    let result: SignalResult | undefined;
    const view = await store.db.transaction().execute(async (trx: Transaction<Database>) => {
      const hb = await trx.selectFrom('heartbeats').selectAll().where('tenant_id', '=', tenant).where('name', '=', name).executeTakeFirst();
      if (!hb || (service !== null && hb.service !== service)) {
        throw new KeelError('not_found', `no heartbeat named "${name}"${service ? ` for service ${service}` : ''}`);
      }
      const now = clock.now();
      const next = { last_ping_at: now, due_at: now + Number(hb.interval_ms) + Number(hb.grace_ms), status: 'up', updated_at: now };
      await trx.updateTable('heartbeats').set(next).where('tenant_id', '=', tenant).where('name', '=', name).execute();
      if (hb.status === 'down') {
        result = await alerts.signalIn(trx, { ...missedSignal(hb, undefined, now), status: 'resolved' });
      }
      return heartbeatView({ ...hb, ...next });
    });
    if (result) alerts.publish(result);
    return view;
  }

  /** Runs the checker (leader only) until stop(); its transactions check `fence` first. */
  run(fence?: DbFence): void {
    void this.loop.run(fence);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Marks overdue heartbeats down and alerts; returns how many went down. */
  async check(fence?: DbFence): Promise<number> {
    const { store, clock, alerts } = this.deps;
    const now = clock.now();
    const due = await store.db.selectFrom('heartbeats').selectAll().where('status', '=', 'up').where('due_at', '<=', now).limit(100).execute();
    let down = 0;
    for (const hb of due) {
      const summaries = await store.db
        .selectFrom('definitions')
        .select('spec_json')
        .where('tenant_id', '=', hb.tenant_id)
        .where('kind', '=', 'Heartbeat')
        .where('name', '=', hb.name)
        .executeTakeFirst();
      const summary = summaries ? (JSON.parse(summaries.spec_json) as HeartbeatDefinition).summary : undefined;
      const result = await store.db.transaction().execute(async (trx) => {
        await fence?.(trx);
        const r = await trx
          .updateTable('heartbeats')
          .set({ status: 'down', updated_at: now })
          .where('tenant_id', '=', hb.tenant_id)
          .where('name', '=', hb.name)
          .where('status', '=', 'up')
          .where('due_at', '<=', now)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return undefined;
        return alerts.signalIn(trx, missedSignal(hb, summary, now));
      });
      if (result) {
        alerts.publish(result);
        down++;
      }
      await new Promise((r) => setImmediate(r));
    }
    return down;
  }

  /** One round: overdue heartbeats go down; returns how long until the next one is due. */
  private async round(fence: DbFence | undefined): Promise<number> {
    const { store, clock, pollIntervalMs } = this.deps;
    let waitFor = pollIntervalMs;
    await this.check(fence);
    const next = await store.db
      .selectFrom('heartbeats')
      .select((eb) => eb.fn.min('due_at').as('t'))
      .where('status', '=', 'up')
      .executeTakeFirst();
    if (next?.t !== null && next?.t !== undefined) waitFor = Math.max(1, Math.min(waitFor, Number(next.t) - clock.now()));
    return Math.max(waitFor, 5);
  }
}
