/**
 * Runs waiting for a person: a step whose outcome is unknown (a crash or timeout mid-step, or a
 * command that may still run on another machine) waits for retry, skip or abort; an approval step
 * waits for its approvers (who are sent links). Nothing moves them on by itself, so they are
 * counted for Prometheus (`keel_runbook_runs_waiting`) and for Keel's own alert
 * KeelRunbookWaitingForDecision (selfwatch/), so a waiting run does not go unseen.
 */
import client from 'prom-client';
import type { Db } from '../store/schema.js';

/** What a waiting run waits for: a decision about a step of unknown outcome, or an approval. */
export type WaitingFor = 'decision' | 'approval';

export interface WaitingRuns {
  tenant: string;
  for: WaitingFor;
  count: number;
  /** The oldest waiting run's last change (ms): it has waited at least since then. */
  since: number;
  /** Up to 5 run ids, oldest first. */
  runs: string[];
}

const PHASES: Record<string, WaitingFor> = { unknown: 'decision', approval: 'approval' };

/** The runs waiting for a person, per tenant and what they wait for (reads the runs' status index). */
export async function waitingRuns(db: Db): Promise<WaitingRuns[]> {
  const rows = await db
    .selectFrom('runbook_runs')
    .select(['id', 'tenant_id', 'phase', 'updated_at'])
    .where('status', '=', 'waiting')
    .where('phase', 'in', Object.keys(PHASES))
    .orderBy('updated_at')
    .execute();
  const out = new Map<string, WaitingRuns>();
  for (const r of rows) {
    const what = PHASES[r.phase]!;
    const key = `${r.tenant_id}\u0000${what}`;
    const group = out.get(key) ?? { tenant: r.tenant_id, for: what, count: 0, since: Number(r.updated_at), runs: [] };
    group.count++;
    if (group.runs.length < 5) group.runs.push(r.id);
    out.set(key, group);
  }
  return [...out.values()];
}

export class RunbookMetrics {
  readonly waiting: client.Gauge<'tenant' | 'for'>;

  constructor(registry: client.Registry) {
    this.waiting = new client.Gauge({
      name: 'keel_runbook_runs_waiting',
      help: 'Runbook runs waiting for a person, by tenant and what for: a decision about a step whose outcome is unknown, or an approval.',
      labelNames: ['tenant', 'for'],
      registers: [registry],
    });
  }

  /** At scrape time: read first, then reset and set (a failed read keeps the last values). */
  async scrape(db: Db): Promise<void> {
    const rows = await waitingRuns(db);
    this.waiting.reset();
    for (const r of rows) this.waiting.set({ tenant: r.tenant, for: r.for }, r.count);
  }
}
